"""When to recycle the engine worker: once engine threads that a stop could not end pile up.

Each such thread keeps an OS thread, a Go client and a database handle until its process exits
(docs/engine.md, "Stopping"), so past a threshold the supervisor restarts the worker in order: at a quiet
moment (no request in flight, or after ``quiet_wait_s``), refusing new requests meanwhile, letting those in
flight finish, and asking the worker to shut down, which stops every client and flushes the event journal.
The next worker resumes every paired session and replays what was not acknowledged (docs/durability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from wa_gateway.clock import Clock
from wa_gateway.engine import contract as c
from wa_gateway.engine.worker_process import ENGINE_LOGGER
from wa_gateway.engine.worker_session import WorkerSession

DEFAULT_QUIET_WAIT_S: Final = 30.0

log = logging.getLogger(ENGINE_LOGGER)


class Recycler:
    def __init__(self, threshold: int, clock: Clock, quiet_wait_s: float = DEFAULT_QUIET_WAIT_S) -> None:
        self.threshold = threshold  # 0: never
        self._clock = clock
        self._quiet_wait_s = quiet_wait_s
        self._due = asyncio.Event()
        self.reason = ""
        self.recycles = 0
        self.draining = False  # new requests are refused while those in flight finish
        self._restart_now = False

    @property
    def due(self) -> bool:
        """Whether a recycle is due: ``quiet_moment`` waits for exactly this."""
        return self._due.is_set()

    def new_worker(self) -> None:
        self._due = asyncio.Event()
        self.reason = ""
        self.draining = False

    def restart_now(self) -> bool:
        """Whether the worker that just ended was recycled (then it is restarted without backoff)."""
        recycled, self._restart_now = self._restart_now, False
        return recycled

    def observe(self, stuck_threads: int) -> None:
        """Called with every heartbeat answer of the live worker."""
        if self.threshold and stuck_threads >= self.threshold and not self._due.is_set():
            self.reason = f"{stuck_threads} engine threads could not be stopped (threshold {self.threshold})"
            self._due.set()

    async def quiet_moment(self, session: WorkerSession) -> str:
        """Returns why, once a recycle is due and the worker has no request in flight (or waited enough)."""
        await self._due.wait()
        idle = asyncio.ensure_future(session.idle.wait())
        timer = asyncio.ensure_future(self._clock.sleep(self._quiet_wait_s))
        try:
            await asyncio.wait({idle, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (idle, timer):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        return self.reason

    async def run(
        self,
        session: WorkerSession,
        down: asyncio.Task[str],
        shut_down: Callable[[], Awaitable[None]],
        request_timeout: float,
    ) -> str:
        """Waits until a recycle is due and quiet, shuts the worker down in order; returns the reason."""
        why = await self.quiet_moment(session)
        self.draining = True
        # What the worker accepted finishes: it answers within the request timeout either way.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.idle.wait(), request_timeout)
        self.recycles += 1
        self._restart_now = True
        log.warning("recycling engine worker %d: %s", session.process.pid, why)
        try:
            await shut_down()
        except c.EngineError as exc:
            log.warning("engine worker did not shut down (%s); killing it", exc.message)
            session.process.kill()
        await asyncio.wait({down})
        return f"engine worker recycled: {why}"
