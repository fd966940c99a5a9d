"""Hold one pooled connection LISTENing on a PostgreSQL channel, and take a new one when it drops.

asyncpg delivers NOTIFY payloads to a listener registered on one connection (asyncpg docs,
``Connection.add_listener``); a pool connection that the server closes takes its listener with it, so the
loop watches for termination and listens again on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final, NoReturn

from wa_gateway.cluster.leases import DB_ERRORS
from wa_gateway.db.postgres import PostgresDatabase

log = logging.getLogger("wa_gateway.cluster")

RECONNECT_SECONDS: Final = 1.0
Notified = Callable[[object, int, str, object], None]


def _nothing() -> None:
    pass


async def listen_forever(
    db: PostgresDatabase,
    channel: str,
    notified: Notified,
    *,
    what: str,
    on_up: Callable[[], None] = _nothing,
    on_down: Callable[[], None] = _nothing,
) -> NoReturn:
    """``on_up`` runs once each connection listens (catch up on what was sent meanwhile), ``on_down`` when
    it is lost; ``notified(conn, pid, channel, payload)`` for every NOTIFY."""
    while True:
        try:
            async with db.pool.acquire() as conn:
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, ended=lost: ended.set())
                await conn.add_listener(channel, notified)
                on_up()
                try:
                    await lost.wait()
                finally:
                    on_down()
                    with contextlib.suppress(*DB_ERRORS):
                        await conn.remove_listener(channel, notified)
        except DB_ERRORS as exc:
            log.debug("%s lost its connection", what, extra={"error": repr(exc)})
        await asyncio.sleep(RECONNECT_SECONDS)
