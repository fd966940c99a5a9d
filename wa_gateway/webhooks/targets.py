"""Per-device webhook targets: a small interface and its sqlite implementation in DATA_DIR.

The secret is stored as given: the gateway needs it to sign every delivery, exactly like WEBHOOK_SECRET.
"""

from __future__ import annotations

import fnmatch
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import orjson

from wa_gateway.db.sqlite import SqliteDatabase
from wa_gateway.db.sqlite_backed import SqliteBacked
from wa_gateway.lifecycle import Resource

TARGETS_FILE: Final = "webhook_targets.db"
_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS webhook_targets (
    token TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    token: str
    url: str
    secret: str
    events: tuple[str, ...]  # name patterns; ``*`` matches any run of characters

    def wants(self, event: str) -> bool:
        return any(fnmatch.fnmatchcase(event, pattern) for pattern in self.events)


class TargetStore(Resource, Protocol):
    async def all(self) -> list[WebhookTarget]: ...
    async def put(self, target: WebhookTarget) -> None: ...
    async def delete(self, token: str) -> bool: ...


class SqliteTargetStore(SqliteBacked):
    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path, (_SCHEMA,), name="webhook-targets"))

    async def all(self) -> list[WebhookTarget]:
        def job(db: sqlite3.Connection) -> list[WebhookTarget]:
            rows: Sequence[tuple[str, str, str, str]] = db.execute(
                "SELECT token, url, secret, events FROM webhook_targets ORDER BY token"
            ).fetchall()
            return [WebhookTarget(t, u, s, tuple(orjson.loads(e))) for t, u, s, e in rows]

        return await self._db.read(job)

    async def put(self, target: WebhookTarget) -> None:
        values = (target.token, target.url, target.secret, orjson.dumps(list(target.events)).decode())
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO webhook_targets (token, url, secret, events) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (token) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
                " events = excluded.events",
                values,
            )
        )

    async def delete(self, token: str) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM webhook_targets WHERE token = ?", (token,)).rowcount > 0

        return await self._db.write(job)
