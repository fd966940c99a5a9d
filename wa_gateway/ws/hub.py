"""Fan-out of events to authenticated WebSocket clients, each with its own bounded queue.

A client whose queue is full is evicted instead of slowing everyone else down (the Go hub did the same,
silently; we close with a code and a reason). Frames are encoded once per event, not once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import WSMsgType, web

from wa_gateway.apikeys.policy import may_receive
from wa_gateway.apikeys.principal import ADMIN, Principal
from wa_gateway.events.catalog import SEED_EVENTS
from wa_gateway.events.model import Event
from wa_gateway.tasks import cancel_and_wait

log = logging.getLogger("wa_gateway.ws")


CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_MESSAGE_TOO_BIG: Final = 1009
# Application-defined range (RFC 6455 §7.4.2): the client fell behind and should reconnect.
CLOSE_TOO_SLOW: Final = 4008
_CLOSE_GRACE_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class Subscription:
    tokens: frozenset[str] | None = None  # None: every device
    events: frozenset[str] | None = None  # None: the seed events only; contains "*" for everything

    def wants(self, token: str, event: str) -> bool:
        if self.tokens is not None and token not in self.tokens:
            return False
        if self.events is None:
            return event in SEED_EVENTS
        return "*" in self.events or event in self.events


class WsClient:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, queue_size: int) -> None:
        self.ws = ws
        self.request = request
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self.subscription = Subscription()
        self.principal: Principal = ADMIN
        self.authenticated = False
        self.closing = False
        self._writer: asyncio.Task[None] | None = None

    def wants(self, token: str, event: str) -> bool:
        return self.subscription.wants(token, event) and may_receive(self.principal, token, event)

    def start_writer(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="ws-writer")

    async def _write_loop(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                frame = await self.queue.get()
                try:
                    await self.ws.send_frame(frame, WSMsgType.TEXT)
                finally:
                    self.queue.task_done()

    def offer(self, frame: bytes) -> bool:
        """Queue a frame without waiting; False when the client has fallen too far behind."""
        if self.closing:
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def flush(self, *, within: float) -> None:
        """Wait (bounded) until the writer has sent everything queued so far."""
        if self._writer is None or self._writer.done():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.queue.join()

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        await cancel_and_wait(self._writer)
        try:
            async with asyncio.timeout(_CLOSE_GRACE_SECONDS):
                await self.ws.close(code=code, message=reason.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            # A peer that stopped reading can block the close handshake; drop the connection instead.
            transport = self.request.transport
            if transport is not None:
                transport.abort()


ReplayFn = Callable[[], Iterable[Event]]


class WsHub:
    def __init__(self) -> None:
        self._clients: set[WsClient] = set()
        self._authenticated: set[WsClient] = set()
        self._closers: set[asyncio.Task[None]] = set()
        self._replay: ReplayFn | None = None
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._authenticated)

    @property
    def connections(self) -> int:
        return len(self._clients)

    def set_replay(self, replay: ReplayFn) -> None:
        """Where to find the frames a newly authenticated client must see at once (current QR codes)."""
        self._replay = replay

    def add(self, client: WsClient) -> None:
        self._clients.add(client)

    def authenticate(self, client: WsClient) -> None:
        client.authenticated = True
        self._authenticated.add(client)
        if self._replay is not None:
            for event in self._replay():
                if client.wants(event.token, event.name):
                    client.offer(event.ws_frame())

    def discard(self, client: WsClient) -> None:
        self._clients.discard(client)
        self._authenticated.discard(client)

    def on_event(self, event: Event) -> None:
        """The bus's subscriber: encoded once, whoever gets it."""
        self.publish(event.name, event.token, event.ws_frame())

    def publish(self, event: str, token: str, frame: bytes) -> int:
        """Send an encoded frame to every authenticated client that wants it; returns how many got it."""
        delivered = 0
        for client in list(self._authenticated):
            if not client.wants(token, event):
                continue
            if client.offer(frame):
                delivered += 1
            else:
                self._evict(client)
        return delivered

    def _evict(self, client: WsClient) -> None:
        self.evicted += 1
        self.discard(client)
        log.warning("websocket client too slow; disconnected", extra={"ip": client.request.remote})
        task = asyncio.create_task(client.close(CLOSE_TOO_SLOW, "Client too slow"))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    def close_key(self, key_id: str, reason: str) -> None:
        """Disconnect every client authenticated with a key that has just been revoked."""
        for client in [c for c in self._authenticated if c.principal.id == key_id]:
            self.discard(client)
            task = asyncio.create_task(client.close(CLOSE_POLICY_VIOLATION, reason))
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)

    async def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "Server shutting down") -> None:
        clients = list(self._clients)
        self._clients.clear()
        self._authenticated.clear()
        await asyncio.gather(*(c.close(code, reason) for c in clients), return_exceptions=True)
        if self._closers:
            await asyncio.gather(*self._closers, return_exceptions=True)
