"""Connections that hold a file descriptor without using it, and running out of descriptors.

aiohttp closes a keep-alive connection that stays idle after a response (``keepalive_timeout``), but a
connection that never completes its first request head is kept forever, so a few hundred silent or
slowloris sockets use up the process's descriptors and even ``/health`` stops answering. The guard
closes any connection whose first request head has not arrived within the header timeout.

When descriptors do run out, asyncio reports every failed ``accept()`` (once a second per listening
socket, with a traceback); that is logged here as one line per interval with a count instead.
The aiohttp and asyncio behaviour this relies on is in docs/hostile-input.md.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from wa_gateway.clock import Clock, SystemClock
from wa_gateway.tasks import cancel_and_wait

log = logging.getLogger("wa_gateway.http")

EXHAUSTION_LOG_INTERVAL_S: Final = 60.0
_OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class HeaderTimeoutGuard:
    """Closes connections of ``server`` that have not sent a complete first request head in time."""

    def __init__(self, server: web.Server, header_timeout_s: float, clock: Clock | None = None) -> None:
        self._server = server
        self._timeout = header_timeout_s
        self._clock = clock or SystemClock()
        # Keyed by id(): aiohttp's handlers have __slots__ and no weak references. Holding the handler
        # itself keeps its id from being reused until the next sweep drops it.
        self._first_seen: dict[int, tuple[RequestHandler, float]] = {}
        self._served: dict[int, RequestHandler] = {}
        self._task: asyncio.Task[None] | None = None
        self.closed = 0
        inner: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] = server.request_handler

        async def tracked(request: web.BaseRequest) -> web.StreamResponse:
            # Called once a request head has been parsed: from then on aiohttp's keep-alive timeout applies.
            handler = request.protocol
            self._served[id(handler)] = handler
            return await inner(request)

        server.request_handler = tracked

    def sweep(self) -> int:
        """Close every connection past the header timeout without a request; returns how many."""
        now = self._clock.monotonic()
        live = {id(handler): handler for handler in self._server.connections}
        self._served = {k: h for k, h in self._served.items() if live.get(k) is h}
        self._first_seen = {k: seen for k, seen in self._first_seen.items() if live.get(k) is seen[0]}
        closed = 0
        for key, handler in live.items():
            if key in self._served:
                continue
            _, first_seen = self._first_seen.setdefault(key, (handler, now))
            if now - first_seen >= self._timeout:
                handler.force_close()
                closed += 1
        self.closed += closed
        return closed

    async def _run(self) -> None:
        interval = max(self._timeout / 4, 0.05)
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="header-timeout-guard")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


class ExhaustionLogger:
    """A loop exception handler: out-of-descriptor accept failures as one line per interval."""

    def __init__(self, clock: Clock | None = None, interval_s: float = EXHAUSTION_LOG_INTERVAL_S) -> None:
        self._clock = clock or SystemClock()
        self._interval = interval_s
        self._last: float | None = None
        self._suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not (isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES):
            loop.default_exception_handler(context)
            return
        now = self._clock.monotonic()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return
        log.error(
            "cannot accept connections: out of file descriptors or memory; raise the open-files limit "
            "(ulimit -n, LimitNOFILE)",
            extra={"error": exc.strerror, "repeats": self._suppressed, "intervalSeconds": self._interval},
        )
        self._last, self._suppressed = now, 0
