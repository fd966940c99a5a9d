"""Which implementation each store gets: PostgreSQL when DATABASE_URL is set, sqlite in DATA_DIR otherwise.

The only place that knows both; callers receive the interfaces (docs/storage.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from wa_gateway.apikeys.store import KEYS_FILE, KeyStore, SqliteKeyStore
from wa_gateway.clock import Clock
from wa_gateway.contacts.model import ContactLibrary
from wa_gateway.contacts.postgres_book import PostgresContactBooks
from wa_gateway.contacts.store import ContactStores
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.db.postgres_small import PostgresIdempotencyStore, PostgresKeyStore, PostgresTargetStore
from wa_gateway.db.sqlite import remove_sqlite_files
from wa_gateway.idempotency.store import IdempotencyStore, SqliteIdempotencyStore
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.postgres_outbox import GLOBAL_TARGET, PostgresOutboxStore
from wa_gateway.webhooks.targets import TARGETS_FILE, SqliteTargetStore, TargetStore

IDEMPOTENCY_FILE: Final = "idempotency.db"
OUTBOX_FILE: Final = "webhooks.db"
BROKER_OUTBOX_FILE: Final = "nats-outbox.db"
BROKER_TARGET: Final = "@nats"
DEVICE_OUTBOX_DIR: Final = "webhooks"


@dataclass(frozen=True, slots=True)
class Stores:
    keys: KeyStore
    idempotency: IdempotencyStore
    targets: TargetStore
    contacts: ContactLibrary
    database: PostgresDatabase | None
    data_dir: Path
    node: str
    clock: Clock

    def outbox(self, target: str = GLOBAL_TARGET) -> WebhookOutbox:
        """WEBHOOK_URL's outbox (``target=""``) or the outbox of one device's own webhook."""
        if self.database is not None:
            return WebhookOutbox(
                PostgresOutboxStore(self.database, target=target, node=self.node), clock=self.clock
            )
        return WebhookOutbox(self.outbox_path(target), clock=self.clock)

    def outbox_path(self, target: str) -> Path:
        if target == GLOBAL_TARGET:
            return self.data_dir / OUTBOX_FILE
        if target == BROKER_TARGET:
            return self.data_dir / BROKER_OUTBOX_FILE
        return self.data_dir / DEVICE_OUTBOX_DIR / f"{target}.db"

    async def drop_outbox(self, target: str) -> None:
        """Forget everything queued for ``target`` (its webhook was removed); its outbox is closed."""
        if self.database is not None:
            await PostgresOutboxStore(self.database, target=target, node=self.node).delete_all()
            return
        await asyncio.to_thread(remove_sqlite_files, self.outbox_path(target))


def build_stores(data_dir: Path, database: PostgresDatabase | None, node: str, clock: Clock) -> Stores:
    if database is not None:
        return Stores(
            keys=PostgresKeyStore(database),
            idempotency=PostgresIdempotencyStore(database, node=node),
            targets=PostgresTargetStore(database),
            contacts=PostgresContactBooks(database, clock),
            database=database,
            data_dir=data_dir,
            node=node,
            clock=clock,
        )
    return Stores(
        keys=SqliteKeyStore(data_dir / KEYS_FILE),
        idempotency=SqliteIdempotencyStore(data_dir / IDEMPOTENCY_FILE),
        targets=SqliteTargetStore(data_dir / TARGETS_FILE),
        contacts=ContactStores(data_dir, clock),
        database=None,
        data_dir=data_dir,
        node=node,
        clock=clock,
    )
