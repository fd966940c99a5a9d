"""whatsmeow's sessions in PostgreSQL, seen from the neonize worker: checked before Go opens them.

With DATABASE_URL every device's whatsmeow store is in one database (``wa_gateway/db/whatsmeow.py``), so
a client is opened with its exact device JID, or with ``new_device`` for a pairing (docs/neonize.md §1).
Go is never handed the URL blindly: on a database that accepts but never answers ``Neonize()`` blocks
forever (docs/neonize.md §6), and a JID without its device row crashes Go (§0.2). Each ``Neonize()``
opens a connection pool that nothing closes (§0.4); once a client has ended, its connections are closed
here, found by the application name its URL gave them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Final

import asyncpg
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]

from wa_gateway.backends.neonize.store import remove_session
from wa_gateway.db import whatsmeow
from wa_gateway.db.postgres import DatabaseUnavailable, PostgresDatabase
from wa_gateway.engine.contract import E_ENGINE_FAILURE, EngineError

log = logging.getLogger(__name__)

# The worker's own connection, for the checks and clean-ups below; whatsmeow's connections are Go's.
POOL_SIZE: Final = 1
# Bounds every question asked here, so a database that stopped answering costs this, not a thread.
PROBE_TIMEOUT_S: Final = 5.0
_ERRORS: Final = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError, DatabaseUnavailable)
_HAS_DEVICE: Final = f"""
SELECT CASE WHEN to_regclass('{whatsmeow.DEVICE_TABLE}') IS NULL THEN false
            ELSE (SELECT count(*) > 0 FROM {whatsmeow.DEVICE_TABLE} WHERE jid = $1) END
"""
_CLOSE_CONNECTIONS: Final = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = $1
"""


class SessionStoreUnavailable(EngineError):
    """The database did not answer in time: nothing was handed to Go."""

    def __init__(self, error: BaseException) -> None:
        detail = str(error) or type(error).__name__
        super().__init__(E_ENGINE_FAILURE, f"The session database cannot be reached: {detail}")


class SessionGone(EngineError):
    """The device row of a paired device is gone (logged out elsewhere): it must be paired again."""

    def __init__(self) -> None:
        super().__init__(E_ENGINE_FAILURE, "The device's session is no longer stored; pair it again")


def device_jid(text: str) -> Any:
    """The neonize JID proto Go looks the device row up by (whatsmeow JID.String() must give ``text``)."""
    parts = whatsmeow.parse_device_jid(text)
    if parts is None:
        raise EngineError(E_ENGINE_FAILURE, f"{text!r} is not a device JID")
    user, agent, device, server = parts
    return proto.JID(User=user, RawAgent=agent, Device=device, Integrator=0, Server=server)


async def remove_stored_session(path: Path, shared: SharedSessions | None, jid: str) -> None:
    """The session goes even when WhatsApp could not be told (offline): a restart must not resume it."""
    await asyncio.to_thread(remove_session, path)
    if shared is not None:
        await shared.delete_device(jid)


class SharedSessions:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._db = PostgresDatabase(database_url, pool_size=POOL_SIZE)
        self.connections_closed = 0  # connections of ended clients closed here (diagnostics)

    def url_for(self, generation: str) -> str:
        return whatsmeow.session_url(self._url, generation)

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close(within=PROBE_TIMEOUT_S)

    async def _ask(self, sql: str, *args: Any) -> Any:
        async with self._db.connection(PROBE_TIMEOUT_S) as conn:
            return await conn.fetchval(sql, *args, timeout=PROBE_TIMEOUT_S)

    async def client_args(self, generation: str, stored: str | None) -> tuple[str, Any, bool]:
        """(database URL, JID, new_device) for one ``Neonize()``: the stored JID of a paired device, or
        a blank device. Go would block forever on a database that never answers (docs/neonize.md §6)
        and crash on a JID without its row (§0.2), so both are asked first, bounded."""
        if stored is None:
            await self.reachable()
            return self.url_for(generation), None, True
        if not await self.has_device(stored):
            raise SessionGone()
        return self.url_for(generation), device_jid(stored), False

    async def has_device(self, jid: str) -> bool:
        """Whether whatsmeow stores ``jid``; ``SessionStoreUnavailable`` when the database is silent."""
        try:
            return bool(await self._ask(_HAS_DEVICE, jid))
        except _ERRORS as exc:
            raise SessionStoreUnavailable(exc) from exc

    async def reachable(self) -> None:
        try:
            await self._ask("SELECT 1")
        except _ERRORS as exc:
            raise SessionStoreUnavailable(exc) from exc

    async def close_connections(self, generation: str) -> int:
        """Close what the ended client ``generation`` left open; its pool is never used again."""
        try:
            closed = int(await self._ask(_CLOSE_CONNECTIONS, whatsmeow.application_name(generation)))
        except _ERRORS as exc:
            log.warning("could not close the database connections of an ended session: %s", exc)
            return 0
        self.connections_closed += closed
        return closed

    async def delete_device(self, jid: str) -> None:
        """Remove a device whatsmeow could not remove itself (offline logout); its rows cascade."""
        if not jid:
            return
        try:
            await self._ask(f"DELETE FROM {whatsmeow.DEVICE_TABLE} WHERE jid = $1", jid)
        except asyncpg.UndefinedTableError:
            return  # whatsmeow never created its tables: nothing was stored
        except _ERRORS as exc:
            log.warning("could not delete a device session from the database: %s", exc)
