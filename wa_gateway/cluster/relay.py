"""WebSocket clients on any node see the events of every device (docs/cluster.md "Events on every node").

Each node appends the frames its own devices produce to ``cluster_frames`` and sends one ``NOTIFY`` per
batch; the other nodes ``LISTEN`` and read what is new, and also read every ``POLL_SECONDS`` in case a
notification was missed while their listening connection was being re-opened. A node writes its frames
from one task, one transaction after the other, so its ids become visible in increasing order: readers
keep one high-water mark per writing node and never skip a frame that committed late. Rows live for
``KEEP_SECONDS``; the WebSocket is a live view, the webhook outbox is the durable path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import asyncpg

from wa_gateway.clock import Clock
from wa_gateway.cluster.leases import DB_ERRORS
from wa_gateway.cluster.listen import listen_forever
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.ws.hub import WsHub

log = logging.getLogger("wa_gateway.cluster")

COMPONENT: Final = "cluster_frames"
STEPS: Final = (
    """
    CREATE TABLE cluster_frames (
        id bigserial PRIMARY KEY,
        node text NOT NULL,
        token text NOT NULL,
        event text NOT NULL,
        frame bytea NOT NULL,
        at double precision NOT NULL
    )
    """,
)
CHANNEL: Final = "wa_gateway_frames"
POLL_SECONDS: Final = 1.0
KEEP_SECONDS: Final = 120.0
MAX_BATCH: Final = 500
_Frame = tuple[str, str, bytes]


class RelayingHub(WsHub):
    """The node's hub: what is published here also goes to the other nodes' hubs through ``FrameRelay``."""

    def __init__(self) -> None:
        super().__init__()
        self.relay: FrameRelay | None = None
        # Told of every frame this node's own devices produce (the connection log watches them).
        self.observers: list[Callable[[str, str, bytes], None]] = []

    def publish(self, event: str, token: str, frame: bytes) -> int:
        if self.relay is not None:
            self.relay.offer(event, token, frame)
        for observe in self.observers:
            observe(event, token, frame)
        return super().publish(event, token, frame)

    def publish_local(self, event: str, token: str, frame: bytes) -> int:
        return super().publish(event, token, frame)


class FrameRelay:
    def __init__(self, database: PostgresDatabase, hub: RelayingHub, *, node_id: str, clock: Clock) -> None:
        self._db = database
        self._hub = hub
        self._node_id = node_id
        self._clock = clock
        self._outgoing: list[_Frame] = []
        self._pending = asyncio.Event()
        self._notified = asyncio.Event()
        self._marks: dict[str, int] = {}
        self._start_id = 0
        self._tasks: list[asyncio.Task[None]] = []

    def offer(self, event: str, token: str, frame: bytes) -> None:
        self._outgoing.append((token, event, frame))
        self._pending.set()

    async def open(self) -> None:
        await self._db.migrate(COMPONENT, STEPS)
        self._start_id = int(await self._db.pool.fetchval("SELECT coalesce(max(id), 0) FROM cluster_frames"))
        self._hub.relay = self
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="frames-write"),
            asyncio.create_task(self._listen_loop(), name="frames-listen"),
            asyncio.create_task(self._read_loop(), name="frames-read"),
        ]

    async def close(self) -> None:
        self._hub.relay = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._outgoing:
            with contextlib.suppress(*DB_ERRORS):
                await self._write(self._outgoing)

    async def _write_loop(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            batch, self._outgoing = self._outgoing[:MAX_BATCH], self._outgoing[MAX_BATCH:]
            if self._outgoing:
                self._pending.set()
            try:
                await self._write(batch)
            except DB_ERRORS as exc:
                log.warning("could not relay events to the other nodes", extra={"error": repr(exc)})

    async def _write(self, batch: list[_Frame]) -> None:
        now = self._clock.time()
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO cluster_frames (node, token, event, frame, at) VALUES ($1, $2, $3, $4, $5)",
                [(self._node_id, token, event, frame, now) for token, event, frame in batch],
            )
            await conn.execute(f"NOTIFY {CHANNEL}")
            await conn.execute("DELETE FROM cluster_frames WHERE at < $1::float8", now - KEEP_SECONDS)

    async def _listen_loop(self) -> None:
        def wake(*_: object) -> None:
            self._notified.set()

        # Once listening, read what was written while no connection listened.
        await listen_forever(self._db, CHANNEL, wake, what="event listener", on_up=self._notified.set)

    async def _read_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._notified.wait()
            self._notified.clear()
            try:
                await self._read()
            except DB_ERRORS as exc:
                log.debug("could not read relayed events", extra={"error": repr(exc)})

    async def _read(self) -> None:
        low = min(self._marks.values(), default=self._start_id)
        rows: list[asyncpg.Record] = await self._db.pool.fetch(
            "SELECT id, node, token, event, frame FROM cluster_frames"
            " WHERE id > $1 AND node <> $2 ORDER BY id",
            low,
            self._node_id,
        )
        for row in rows:
            node, frame_id = str(row["node"]), int(row["id"])
            if frame_id <= self._marks.get(node, self._start_id):
                continue
            self._marks[node] = frame_id
            self._hub.publish_local(str(row["event"]), str(row["token"]), bytes(row["frame"]))
