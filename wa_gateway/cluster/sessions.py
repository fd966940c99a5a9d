"""Every connection a device had, on any node, and WhatsApp's rule that the newer one wins.

WhatsApp allows one live connection per linked device: when a second client connects, the server ends
the first with a ``<stream:error><conflict type="replaced"/>`` (whatsmeow's ``events.StreamReplaced``,
whatsmeow/connectionevents.go). A node records each connection of its devices here when the device
reports connected, and ends it when the device goes down. A new connection ends every older open one
with ``endedBy = "stream_replaced"`` and tells the node that held it (``NOTIFY``), which stops the device
and never reconnects it. Tests read the log at ``GET /sandbox/devices/{token}/sessions`` to check that two
live connections never overlapped (docs/cluster.md "Sessions").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.clock import Clock
from wa_gateway.cluster.leases import DB_ERRORS
from wa_gateway.cluster.listen import listen_forever
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.devices.api import token_from_path
from wa_gateway.envelope import ok, utc_timestamp_ms

log = logging.getLogger("wa_gateway.cluster")

COMPONENT: Final = "cluster_sessions"
STEPS: Final = (
    """
    CREATE TABLE device_connections (
        id bigserial PRIMARY KEY,
        token text NOT NULL,
        node text NOT NULL,
        generation bigint NOT NULL,
        connected_at double precision NOT NULL,
        ended_at double precision,
        ended_by text
    );
    CREATE INDEX device_connections_open ON device_connections (token) WHERE ended_at IS NULL
    """,
)
CHANNEL: Final = "wa_gateway_replaced"
STREAM_REPLACED: Final = "stream_replaced"

Replaced = Callable[[str], Awaitable[None]]


class ConnectionLog:
    def __init__(
        self,
        database: PostgresDatabase,
        *,
        node_id: str,
        clock: Clock,
        generation: Callable[[str], int | None],
        on_replaced: Replaced,
    ) -> None:
        self._db = database
        self._node_id = node_id
        self._clock = clock
        self._generation = generation
        self._on_replaced = on_replaced
        self._queue: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._hooks: set[asyncio.Task[None]] = set()
        # Set while a connection LISTENs for replacements.
        self.listening = asyncio.Event()

    def connected(self, token: str) -> None:
        self._queue.put_nowait((token, None))

    def ended(self, token: str, by: str) -> None:
        self._queue.put_nowait((token, by))

    async def open(self) -> None:
        await self._db.migrate(COMPONENT, STEPS)
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="connections-write"),
            asyncio.create_task(self._listen_loop(), name="connections-listen"),
        ]

    async def close(self) -> None:
        await self.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._hooks, return_exceptions=True)
        self._tasks = []

    async def drain(self) -> None:
        """Wait until every recorded change is written (bounded by the database answering)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await self._queue.join()

    async def _write_loop(self) -> None:
        while True:
            token, ended_by = await self._queue.get()
            try:
                if ended_by is None:
                    await self._record_connected(token)
                else:
                    await self._record_ended(token, ended_by)
            except DB_ERRORS as exc:
                log.warning("could not record a device connection", extra={"error": repr(exc)})
            finally:
                self._queue.task_done()

    async def _record_connected(self, token: str) -> None:
        now = self._clock.time()
        generation = self._generation(token) or 0
        async with self._db.pool.acquire() as conn, conn.transaction():
            # One writer per token at a time: two nodes connecting at once are ordered here.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"connections:{token}")
            older = await conn.fetch(
                """
                UPDATE device_connections SET ended_at = $2, ended_by = $3
                WHERE token = $1 AND ended_at IS NULL RETURNING node
                """,
                token,
                now,
                STREAM_REPLACED,
            )
            await conn.execute(
                """
                INSERT INTO device_connections (token, node, generation, connected_at)
                VALUES ($1, $2, $3, $4)
                """,
                token,
                self._node_id,
                generation,
                now,
            )
            for row in older:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{row['node']} {token}")

    async def _record_ended(self, token: str, ended_by: str) -> None:
        await self._db.pool.execute(
            """
            UPDATE device_connections SET ended_at = $3, ended_by = $4
            WHERE token = $1 AND node = $2 AND ended_at IS NULL
            """,
            token,
            self._node_id,
            self._clock.time(),
            ended_by,
        )

    async def _listen_loop(self) -> None:
        def replaced(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            node, _, token = str(payload).partition(" ")
            if node == self._node_id:
                task = asyncio.ensure_future(self._on_replaced(token))
                self._hooks.add(task)
                task.add_done_callback(self._hooks.discard)

        await listen_forever(
            self._db,
            CHANNEL,
            replaced,
            what="replacement listener",
            on_up=self.listening.set,
            on_down=self.listening.clear,
        )

    async def sessions(self, token: str) -> list[dict[str, Any]]:
        rows = await self._db.pool.fetch(
            """
            SELECT node, generation, connected_at, ended_at, ended_by FROM device_connections
            WHERE token = $1 ORDER BY id
            """,
            token,
        )
        return [
            {
                "node": str(r["node"]),
                "generation": int(r["generation"]),
                "connectedAt": utc_timestamp_ms(float(r["connected_at"])),
                "endedAt": utc_timestamp_ms(float(r["ended_at"])) if r["ended_at"] is not None else None,
                "endedBy": r["ended_by"],
            }
            for r in rows
        ]


class SessionsApi:
    """``GET /sandbox/devices/{token}/sessions``: the sandbox's view of every connection of a device."""

    def __init__(self, log_: ConnectionLog) -> None:
        self._log = log_

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/sandbox/devices/{token}/sessions", self.sessions)]

    async def sessions(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        try:
            sessions = await self._log.sessions(token)
        except DB_ERRORS:
            raise errors.ApiError(errors.CLUSTER_DATABASE_UNAVAILABLE) from None
        return ok(request, {"token": token, "sessions": sessions})
