"""Every accepted key in memory, so checking one is a dictionary lookup; writes go through the store."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Final

from aiohttp import web

from wa_gateway.apikeys.principal import ADMIN, Principal
from wa_gateway.apikeys.store import KeyRecord, KeyStore
from wa_gateway.clock import Clock
from wa_gateway.envelope import utc_timestamp
from wa_gateway.tasks import cancel_and_wait

log = logging.getLogger("wa_gateway.apikeys")

KEY_PREFIX: Final = "wag_"
# With a shared database another node may create or revoke keys; each node rereads them this often.
SHARED_REFRESH_SECONDS: Final = 5.0
_SHOWN_PREFIX_CHARS: Final = len(KEY_PREFIX) + 6

RevokeListener = Callable[[str], None]


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def principal_of(record: KeyRecord) -> Principal:
    return Principal(record.id, record.name, record.scopes, record.devices)


class Keyring:
    def __init__(self, store: KeyStore, admin_key: str, clock: Clock) -> None:
        self._store = store
        self._admin = admin_key.encode()
        self._clock = clock
        self._by_hash: dict[bytes, KeyRecord] = {}
        self._listeners: list[RevokeListener] = []

    async def open(self) -> None:
        await self._store.open()
        self._by_hash = {r.key_hash: r for r in await self._store.all()}

    async def close(self) -> None:
        await self._store.close()

    async def refresh(self) -> None:
        """Reread the store: keys another node created become usable, and keys it revoked stop working
        here too, their sockets closed as after a local revoke."""
        current = {r.key_hash: r for r in await self._store.all()}
        gone = [r.id for h, r in self._by_hash.items() if h not in current]
        self._by_hash = current
        for key_id in gone:
            for listener in self._listeners:
                listener(key_id)

    def refresher(
        self, interval_s: float = SHARED_REFRESH_SECONDS
    ) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
        """A cleanup context that refreshes every ``interval_s`` (for a store shared by several nodes)."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await self.refresh()
                except Exception as exc:  # the database may be away for a while; keep the keys we have
                    log.warning("could not reread the API keys: %s", exc)

        @contextlib.asynccontextmanager
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(loop(), name="keyring-refresh")
            try:
                yield
            finally:
                await cancel_and_wait(task)

        return ctx

    def on_revoked(self, listener: RevokeListener) -> None:
        self._listeners.append(listener)

    def lookup(self, key: str) -> Principal | None:
        """The principal a presented key stands for, or None for an unknown key."""
        try:
            presented = key.encode()
        except UnicodeEncodeError:
            # Header bytes that are not UTF-8 arrive as lone surrogates: no key of ours looks like that.
            return None
        if hmac.compare_digest(presented, self._admin):
            return ADMIN
        # A lookup by hash leaks, through timing, at most something about the hash, never the key.
        record = self._by_hash.get(key_hash(key))
        return principal_of(record) if record is not None else None

    def records(self) -> list[KeyRecord]:
        return sorted(self._by_hash.values(), key=lambda r: (r.created_at, r.id))

    def get(self, key_id: str) -> KeyRecord | None:
        return next((r for r in self._by_hash.values() if r.id == key_id), None)

    async def create(
        self, name: str, scopes: frozenset[str], devices: frozenset[str] | None
    ) -> tuple[KeyRecord, str]:
        """A new key; the plain key is returned here and never again."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = KeyRecord(
            id=f"key_{uuid.uuid4().hex[:16]}",
            name=name,
            key_hash=key_hash(key),
            prefix=key[:_SHOWN_PREFIX_CHARS],
            scopes=scopes,
            devices=devices,
            created_at=utc_timestamp(self._clock.time()),
        )
        await self._store.add(record)
        self._by_hash[record.key_hash] = record
        return record, key

    async def revoke(self, key_id: str) -> bool:
        record = self.get(key_id)
        if record is None:
            return False
        # Forget it first: from here on no request or socket can authenticate with it.
        del self._by_hash[record.key_hash]
        await self._store.remove(key_id)
        for listener in self._listeners:
            listener(key_id)
        return True
