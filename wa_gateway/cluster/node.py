"""This node's part in a cluster, composed from the leases, the forwarder and the frame relay.

``ClusterNode`` is what ``create_app`` wires when DATABASE_URL is set. The device layer asks it whether a
device may run here (``may_run``) and is told to adopt or give up devices as leases move.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from types import ModuleType
from typing import Any, Final

from aiohttp import web

from wa_gateway.clock import Clock
from wa_gateway.cluster.api import ClusterApi
from wa_gateway.cluster.directory import DeviceDirectory
from wa_gateway.cluster.forward import Forwarder
from wa_gateway.cluster.leases import DB_ERRORS, LeaseKeeper
from wa_gateway.cluster.relay import FrameRelay, RelayingHub
from wa_gateway.cluster.sessions import STREAM_REPLACED, ConnectionLog, SessionsApi
from wa_gateway.cluster.store import LeaseStore
from wa_gateway.config import Settings
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.events.model import encode_event
from wa_gateway.openapi import cluster as cluster_spec
from wa_gateway.openapi import cluster_sessions as sessions_spec

log = logging.getLogger("wa_gateway.cluster")

# How a connection ended, in the connection log (besides "stream_replaced").
ENDED_DISCONNECTED: Final = "disconnected"
ENDED_LEASE_LOST: Final = "lease_lost"
ENDED_SHUTDOWN: Final = "shutdown"
# The neonize session's message for whatsmeow's StreamReplaced (backends/neonize/session.py), which the
# sandbox's replacement repeats so that clients see one text for it.
STREAM_REPLACED_MESSAGE: Final = (
    "Connection failed: Stream replaced: another client opened this session; not reconnecting"
)
STREAM_REPLACED_MARK: Final = b"Stream replaced"


class ClusterNode:
    def __init__(self, settings: Settings, database: PostgresDatabase, clock: Clock) -> None:
        self.node_id = settings.node_id
        self.node_url = settings.node_url or f"http://127.0.0.1:{settings.port}"
        if not settings.node_url:
            log.warning("NODE_URL is not set: other nodes cannot forward requests to this one")
        self._clock = clock
        self.store = LeaseStore(database)
        self._manager: DeviceManager | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.keeper = LeaseKeeper(
            self.store,
            node_id=self.node_id,
            node_url=self.node_url,
            ttl=float(settings.lease_ttl_seconds),
            clock=clock,
            on_acquired=self._adopt,
            on_lost=self._relinquish,
        )
        self.forwarder = Forwarder(self.node_id, settings.cluster_secret, self.owner_url)
        self.hub = RelayingHub()
        self.relay = FrameRelay(database, self.hub, node_id=self.node_id, clock=clock)
        self.api = ClusterApi(self.store, node_id=self.node_id, ttl=self.keeper.ttl, clock=clock)
        # The sandbox models WhatsApp's one-connection rule across nodes; real WhatsApp enforces it itself.
        self.connections = (
            ConnectionLog(
                database,
                node_id=self.node_id,
                clock=clock,
                generation=self.keeper.generation,
                on_replaced=self._replaced,
            )
            if settings.wa_engine == "sandbox"
            else None
        )
        self.directory = DeviceDirectory(self.store, self.keeper, node_id=self.node_id, clock=clock)
        # neonize's whatsmeow store is shared: a connect names the JID its session is stored under.
        self._shared_sessions = settings.wa_engine == "neonize"
        self.hub.observers.append(self._watch)
        self.hub.observers.append(self.directory.observe)

    def install(self, app: web.Application, manager: DeviceManager) -> None:
        """Hook into the device layer, serve /cluster, and start right after the database opened."""
        self._manager = manager
        manager.set_run_gate(self.may_run)
        manager.on_removed(self.keeper.forget)
        manager.set_cluster_view(self.directory)
        self.directory.attach(manager)
        if self._shared_sessions:
            manager.set_connect_args(self.directory.connect_args, self.directory.sessions)
        app.cleanup_ctx.append(self.cleanup_ctx)
        app.router.add_routes(self.api.routes())
        if self.connections is not None:
            app.router.add_routes(SessionsApi(self.connections).routes())

    def specs(self) -> list[ModuleType]:
        """The OpenAPI spec modules of the routes ``install`` added."""
        return [cluster_spec, *([sessions_spec] if self.connections is not None else [])]

    async def may_run(self, token: str, asked: bool) -> bool:
        if asked:
            return await self.keeper.claim(token)
        # A restore: make the device known to the cluster; the next round takes this node's share.
        await self.store.register(token, "")
        return self.keeper.holds(token)

    async def health_view(self) -> dict[str, Any]:
        return await self.api.health(len(self.keeper.owned()), self.keeper.reachable)

    def owned_count(self) -> tuple[str, int]:
        """(this node's id, devices it holds): the /metrics gauge, from memory."""
        return self.node_id, len(self.keeper.owned())

    async def owner_url(self, token: str) -> str | None:
        """The base URL of the live node that runs ``token``, when that is not this node."""
        if self.keeper.holds(token):
            return None
        try:
            found = await self.store.lease(token)
        except DB_ERRORS:
            # Nobody can be asked: answer here, where the device is not running (409/404 as usual).
            return None
        if found is None:
            return None
        lease, node = found
        now = self._clock.time()
        if node is None or lease.owner == self.node_id or lease.expires_at <= now or node.stopped:
            return None
        return node.url

    async def _adopt(self, token: str) -> None:
        if self._manager is not None:
            await self._manager.adopt(token)

    async def _relinquish(self, token: str) -> None:
        if self._manager is not None:
            await self._manager.relinquish(token)
        if self.connections is not None:
            self.connections.ended(token, ENDED_LEASE_LOST)

    async def _replaced(self, token: str) -> None:
        """A newer connection of ``token`` opened elsewhere: stop it here and never reconnect it."""
        await self.keeper.stream_replaced(token)
        if self._manager is not None:
            await self._manager.relinquish(token)
        frame = encode_event("connection-error", token, message=STREAM_REPLACED_MESSAGE)
        self.hub.publish("connection-error", token, frame)

    def _watch(self, event: str, token: str, frame: bytes) -> None:
        if event == "connection-success":
            if self.connections is not None:
                self.connections.connected(token)
        elif event == "connection-error":
            replaced = STREAM_REPLACED_MARK in frame
            if self.connections is not None:
                self.connections.ended(token, STREAM_REPLACED if replaced else ENDED_DISCONNECTED)
            if replaced and self.keeper.holds(token):
                # whatsmeow's StreamReplaced from WhatsApp itself: the session does not reconnect, and
                # this node does not take the device back on its own (docs/cluster.md "StreamReplaced").
                self._spawn(self.keeper.stream_replaced(token))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """Runs after the database opened and before the engine starts; stops after the engine stopped."""
        await self.forwarder.open()
        await self.relay.open()
        if self.connections is not None:
            await self.connections.open()
        await self.keeper.start()
        self.directory.start()
        try:
            yield
        finally:
            await self.directory.stop()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.connections is not None:
                for token in self.keeper.owned():
                    self.connections.ended(token, ENDED_SHUTDOWN)
                await self.connections.close()
            # The engine stopped before this runs: its devices are down, so the leases are freed at once.
            await self.keeper.stop()
            await self.relay.close()
            await self.forwarder.close()
