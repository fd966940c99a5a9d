"""One engine worker between its spawn and its teardown, as the supervisor sees it: its requests in
flight by id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wa_gateway.clock import Clock
from wa_gateway.engine import contract as c
from wa_gateway.engine.failures import EngineLost, EngineTimeout, EngineUnavailable
from wa_gateway.engine.ipc import FrameTooLarge, Message
from wa_gateway.engine.worker_process import WorkerProcess


def _expire(timer: asyncio.Future[None], reply: asyncio.Future[Any], cmd: str, limit: float) -> None:
    if not timer.cancelled() and timer.exception() is None and not reply.done():
        reply.set_exception(EngineTimeout(cmd, limit))


@dataclass(eq=False)
class WorkerSession:
    process: WorkerProcess
    last_seen: float
    hello: asyncio.Future[Message]
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    fatal: str | None = None
    up_since: float | None = None
    explain_by_exit: bool = False
    # Set while no request is in flight: the moment a recycle may shut the worker down.
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    async def request(
        self, request_id: int, cmd: str, args: Mapping[str, Any], limit: float, clock: Clock
    ) -> Any:
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        message = {"type": "request", "id": request_id, "cmd": cmd, "args": dict(args)}
        try:
            # Not waiting for the socket to drain: the reply's deadline bounds every request, and the
            # ping watchdog ends a worker that stops reading, so what is queued meanwhile stays bounded.
            self.process.writer.send_nowait(message)
        except FrameTooLarge as exc:
            raise c.EngineError(c.E_INVALID_ARGUMENT, f"request too large: {exc}") from None
        except (ConnectionError, OSError):
            raise EngineUnavailable("engine worker connection lost") from None
        self.pending[request_id] = reply
        self.idle.clear()
        # One timer on the injected clock (tests move it) instead of a task per exchange: this runs for
        # every engine call (BENCHMARKS.md, "Where the time goes").
        timer = asyncio.ensure_future(clock.sleep(limit))
        timer.add_done_callback(lambda done: _expire(done, reply, cmd, limit))
        try:
            return await reply
        except EngineLost:
            raise
        except EngineUnavailable:
            raise EngineLost() from None
        finally:
            timer.cancel()
            self.pending.pop(request_id, None)
            if not self.pending:
                self.idle.set()

    def settle(self, message: Message) -> None:
        """A reply: its caller learns the result, unless it gave up (timeout or cancellation)."""
        request_id = message.get("id")
        future = self.pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is None or future.done():
            return
        if message.get("ok") is True:
            future.set_result(message.get("result"))
            return
        error = message.get("error")
        error = error if isinstance(error, dict) else {}
        future.set_exception(
            c.EngineError(
                str(error.get("code") or c.E_ENGINE_FAILURE),
                str(error.get("message") or "engine command failed"),
            )
        )

    async def heartbeat(self, clock: Clock, interval: float, silence_limit: float) -> str:
        """Pings until the worker stays silent past ``silence_limit``; then kills it and says why."""
        for ping_id in itertools.count(1):
            await clock.sleep(interval)
            silent_for = clock.monotonic() - self.last_seen
            if silent_for > silence_limit:
                self.process.kill()
                return f"engine worker hung (silent for {silent_for:.1f} s); killed"
            # Not drained: a hung worker stops reading, and waiting on its socket would stall this check.
            with contextlib.suppress(ConnectionError, OSError):
                self.process.writer.send_nowait({"type": "ping", "id": ping_id})
        raise AssertionError("unreachable")

    def fail_pending(self) -> None:
        failure = EngineUnavailable("engine worker went away")
        for future in self.pending.values():
            if not future.done():
                future.set_exception(failure)
                # Its caller may be gone already (cancelled); don't let asyncio log it as unretrieved.
                future.exception()
        self.pending.clear()
        self.idle.set()
