"""Keeps one engine worker running for the gateway: spawn, heartbeat, restart with backoff, requests by id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Literal

import orjson

from wa_gateway.clock import Clock
from wa_gateway.engine import contract as c
from wa_gateway.engine.callbacks import Callback, CallbackQueue
from wa_gateway.engine.failures import EngineUnavailable
from wa_gateway.engine.ipc import Message
from wa_gateway.engine.launcher import BUILD_ID, worker_command, worker_env
from wa_gateway.engine.recycler import Recycler
from wa_gateway.engine.worker_process import ENGINE_LOGGER, WorkerProcess
from wa_gateway.engine.worker_session import WorkerSession
from wa_gateway.engine.worker_stats import StatsTotals
from wa_gateway.worker.config import CONFIG_FD_ENV, config_pipe

EXIT_GRACE: Final = 2.0
CALLBACK_DRAIN_TIMEOUT: Final = 5.0

log = logging.getLogger(ENGINE_LOGGER)

SupervisorState = Literal["idle", "starting", "up", "recycling", "backoff", "stopping", "stopped"]
# (token, event, data, stamp): ``stamp`` is set for journaled events, which the gateway must ``ack``.
OnEvent = Callable[[str, str, dict[str, Any], c.EventStamp | None], Awaitable[None] | None]
OnWorkerUp = Callable[[bool], Awaitable[None] | None]
OnWorkerDown = Callable[[str], Awaitable[None] | None]


class EngineSupervisor:
    """Runs the engine worker and restarts it when it dies or hangs.

    Callbacks (sync, or async and then awaited) run one at a time, in order, on one dispatcher task:
    ``on_worker_down`` of a dead worker always comes before the events of its successor. Keep them short
    (spawn a task for long work such as restoring devices): events queue up behind them.
    ``on_worker_down`` is called only for a worker that said hello; ``reason`` is ``"shutdown"`` on stop().
    """

    def __init__(
        self,
        engine: str,
        worker_config: Mapping[str, Any],
        *,
        clock: Clock,
        on_event: OnEvent,
        on_worker_up: OnWorkerUp,
        on_worker_down: OnWorkerDown,
        request_timeout: float = 30.0,
        heartbeat_interval: float = 5.0,
        heartbeat_timeout: float = 15.0,
        restart_backoff_base: float = 0.5,
        restart_backoff_cap: float = 30.0,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        recycle_stuck_threads: int = 0,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self._config = {**worker_config, "engine": engine}
        self._clock = clock
        self._on_event = on_event
        self._on_worker_up = on_worker_up
        self._on_worker_down = on_worker_down
        self._request_timeout = request_timeout
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat_timeout = heartbeat_timeout
        self._backoff_base = restart_backoff_base
        self._backoff_cap = restart_backoff_cap
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._command = list(command) if command is not None else worker_command()
        self._env = env
        self._state: SupervisorState = "idle"
        self._session: WorkerSession | None = None
        self._live: WorkerSession | None = None  # the session that said hello and serves requests
        self._ids = itertools.count(1)
        self._restarts = 0
        self._last_error: str | None = None
        self._stats = StatsTotals()
        self._recycler = Recycler(recycle_stuck_threads, clock)
        self._stopping = asyncio.Event()
        self._callbacks = CallbackQueue()
        self._run_task: asyncio.Task[None] | None = None
        self._first_attempt: asyncio.Future[None] | None = None

    # --- public API -----------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self._live is not None

    def info(self) -> dict[str, Any]:
        live = self._live
        uptime = self._clock.monotonic() - live.up_since if live and live.up_since is not None else 0.0
        session = self._session
        return {
            "engine": self.engine,
            "state": self._state,
            "pid": session.process.pid if session is not None else None,
            "uptimeSeconds": round(uptime, 3),
            "restarts": self._restarts,
            "pendingRequests": len(live.pending) if live is not None else 0,
            "lastError": self._last_error,
            "stuckThreads": self._stats.stuck_threads,
            "lostEventSessions": self._stats.counter("lostEventSessions"),
            "watchdogReconnects": self._stats.counter("watchdogReconnects"),
            "recycles": self._recycler.recycles,
            "recycleStuckThreads": self._recycler.threshold,
        }

    def reconnecting(self) -> dict[str, dict[str, Any]]:
        """Devices the worker is reconnecting, as of its last heartbeat: token -> ReconnectInfo."""
        return self._stats.reconnecting()

    def first_sync(self) -> dict[str, int]:
        """Devices linked just now whose first history sync runs: token -> progress (%)."""
        return self._stats.first_sync()

    async def start(self) -> None:
        """Spawn the worker; returns once it said hello or its first attempt failed (it keeps retrying)."""
        if self._run_task is not None:
            raise RuntimeError("EngineSupervisor.start() called twice")
        self._first_attempt = asyncio.get_running_loop().create_future()
        self._callbacks.start()
        self._run_task = asyncio.create_task(self._run(), name="engine-supervisor")
        await asyncio.shield(self._first_attempt)

    async def stop(self) -> None:
        """Ask the worker to shut down, kill it after ``stop_timeout``; reap it and stop restarting."""
        if self._run_task is None or self._stopping.is_set():
            if self._run_task is not None:
                await asyncio.shield(self._run_task)
            return
        self._stopping.set()
        self._state = "stopping"
        live = self._live
        if live is not None:
            try:
                await self._request_on(live, c.CMD_SHUTDOWN, {}, self._stop_timeout)
            except EngineUnavailable:
                # Already on its way out: under systemd's default KillMode=control-group the worker
                # gets the same SIGTERM as the gateway. The teardown reaps it.
                log.info("engine worker was already stopping")
            except c.EngineError as exc:
                if self._session is live:
                    log.warning("engine worker did not shut down (%s); killing it", exc.message)
                    live.process.kill()
        # Once it answered, the worker exits by itself; the teardown kills it if it lingers.
        await self._run_task
        await self._callbacks.stop(CALLBACK_DRAIN_TIMEOUT)
        self._state = "stopped"

    async def request(
        self,
        cmd: str,
        args: Mapping[str, Any] | None = None,
        # Measured on the injected clock, so tests control it; asyncio.timeout would use the loop's.
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Run one engine command; raises EngineUnavailable, EngineTimeout or EngineError."""
        live = self._live
        if live is None or self._stopping.is_set():
            raise EngineUnavailable()
        if self._recycler.draining:
            raise EngineUnavailable("engine worker is restarting")
        return await self._request_on(
            live, cmd, args or {}, self._request_timeout if timeout is None else timeout
        )

    # --- requests -------------------------------------------------------------------------------

    async def _request_on(
        self, session: WorkerSession, cmd: str, args: Mapping[str, Any], limit: float
    ) -> Any:
        return await session.request(next(self._ids), cmd, args, limit, self._clock)

    def ack(self, seqs: list[int]) -> None:
        """Tells the live worker these journaled events are committed; it deletes them from its journal.

        Sequence numbers belong to the journal file, not to one worker, so a successor may take them.
        Without a live worker the ack is dropped: the next worker replays and the outbox deduplicates.
        """
        live = self._live
        if live is None or not seqs:
            return
        with contextlib.suppress(ConnectionError, OSError):
            live.process.writer.send_nowait({"type": "ack", "seqs": seqs})

    def _on_frame(self, session: WorkerSession, message: Message) -> None:
        session.last_seen = self._clock.monotonic()
        kind = message.get("type")
        if kind == "reply":
            session.settle(message)
        elif kind == "event":
            token, event, data = message.get("token"), message.get("event"), message.get("data")
            if isinstance(token, str) and isinstance(event, str) and isinstance(data, dict):
                seq, event_id = message.get("seq"), message.get("eventId")
                stamp = None
                if isinstance(seq, int) and isinstance(event_id, str):
                    stamp = c.EventStamp(seq, event_id)
                self._schedule(self._on_event, token, event, data, stamp)
            else:
                log.warning("ignoring malformed engine event %r", message)
        elif kind == "hello":
            if not session.hello.done():
                session.hello.set_result(message)
        elif kind == "fatal":
            session.fatal = str(message.get("message") or "engine worker failed")
        elif kind == "pong":
            if session is self._live:
                self._stats.update(message.get("stats"))
                self._recycler.observe(self._stats.stuck_threads)
        else:
            log.warning("ignoring engine message of unknown type %r", kind)

    # --- the worker's life cycle ----------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        first_start = True
        while not self._stopping.is_set():
            self._state = "starting"
            up_for = await self._run_one(first_start)
            if self._recycler.restart_now() and not self._stopping.is_set():
                # An orderly restart of a healthy worker: no backoff, and not a failure.
                failures = 0
                self._restarts += 1
                continue
            if up_for is not None:
                first_start = False
                # A worker that stayed up a while was healthy: start backing off from scratch.
                failures = 1 if up_for >= self._backoff_cap else failures + 1
            else:
                failures += 1
            self._resolve_first_attempt()
            if self._stopping.is_set():
                break
            delay = min(self._backoff_cap, self._backoff_base * 2 ** (failures - 1))
            self._state = "backoff"
            log.info("restarting engine worker in %.2f s", delay)
            await self._sleep_unless_stopping(delay)
            if not self._stopping.is_set():
                self._restarts += 1
        self._resolve_first_attempt()

    async def _run_one(self, first_start: bool) -> float | None:
        """One worker from spawn to teardown; returns how long it was up, or None if it never came up."""
        env = dict(worker_env(os.environ) if self._env is None else self._env)
        config_fd: int | None = None
        try:
            # Through a pipe, never the environment: the config may carry DATABASE_URL's password, and
            # /proc/<pid>/environ keeps a process's starting environment for its whole life.
            config_fd = config_pipe(orjson.dumps(self._config))
            env[CONFIG_FD_ENV] = str(config_fd)
            process = await WorkerProcess.spawn(self._command, "--fd", env, extra_fds=(config_fd,))
        except OSError as exc:
            self._last_error = f"cannot start engine worker: {exc}"
            log.error("%s", self._last_error)
            return None
        finally:
            if config_fd is not None:
                os.close(config_fd)
        loop = asyncio.get_running_loop()
        session = WorkerSession(
            process=process, last_seen=self._clock.monotonic(), hello=loop.create_future()
        )
        self._session = session
        process.start(lambda message: self._on_frame(session, message))
        log.info("engine worker %d started (%s)", process.pid, self.engine)
        down = asyncio.create_task(process.wait_down())
        watchers: list[asyncio.Task[str]] = [down]
        reason = "engine worker stopped"
        try:
            reason_or_hello = await self._wait_hello(session, down)
            if isinstance(reason_or_hello, str):
                reason = reason_or_hello
                return None
            self._became_up(session, reason_or_hello, first_start)
            heartbeat = asyncio.create_task(
                session.heartbeat(self._clock, self._heartbeat_interval, self._heartbeat_timeout)
            )
            recycle = asyncio.create_task(self._recycle(session, down))
            watchers += [heartbeat, recycle]
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
            if heartbeat in done:
                reason = heartbeat.result()
            elif recycle in done:
                reason = recycle.result()
            else:
                reason = down.result()
                # "closed its connection" says less than the exit code or signal known once reaped.
                session.explain_by_exit = process.stream_ended
            return self._clock.monotonic() - (session.up_since or 0.0)
        finally:
            await self._teardown(session, reason, watchers)

    async def _wait_hello(self, session: WorkerSession, down: asyncio.Task[str]) -> Message | str:
        timer = asyncio.create_task(self._clock.sleep(self._startup_timeout))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            waiters: set[asyncio.Future[Any]] = {session.hello, down, timer, stopping}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            stopping.cancel()
        if self._stopping.is_set():
            # Checked before hello: stop() only shuts down a worker that was up when it was called.
            session.process.kill()
            return "shutdown"
        if session.hello.done():
            return session.hello.result()
        if down.done():
            # A worker that could not build its backend says why before exiting; that beats "exit code 3".
            reason = f"engine worker failed to start: {session.fatal}" if session.fatal else down.result()
        else:
            session.process.kill()
            reason = f"engine worker did not say hello within {self._startup_timeout:g} s"
        self._last_error = reason
        log.error("%s", reason)
        return reason

    def _became_up(self, session: WorkerSession, hello: Message, first_start: bool) -> None:
        session.up_since = session.last_seen = self._clock.monotonic()
        self._live = session
        self._recycler.new_worker()
        self._state = "up"
        self._resolve_first_attempt()
        version = hello.get("version")
        if version != BUILD_ID:
            # The artifact was replaced under a running gateway (docs/packaging.md pitfall 6).
            log.warning(
                "engine worker runs build %s but the gateway runs %s; restart the service", version, BUILD_ID
            )
        log.info("engine worker %d is up (engine %s)", session.process.pid, hello.get("engine"))
        self._schedule(self._on_worker_up, first_start)

    async def _teardown(
        self,
        session: WorkerSession,
        reason: str,
        watchers: list[asyncio.Task[str]],
    ) -> None:
        was_live = self._live is session
        self._live = None
        if was_live:
            self._stats.worker_ended()
        # Fail in-flight requests first so callers learn at once, not after the process is reaped.
        session.fail_pending()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await session.process.close(EXIT_GRACE)
        if self._session is session:
            self._session = None
        exit_status = session.process.exit_status()
        if self._stopping.is_set() and was_live:
            log.info("engine worker %d stopped: %s", session.process.pid, exit_status)
            reason = "shutdown"
        elif session.explain_by_exit:
            reason = exit_status
        if was_live:
            if reason != "shutdown":
                self._last_error = reason
                log.error("%s", reason)
            self._schedule(self._on_worker_down, reason)

    async def _recycle(self, session: WorkerSession, down: asyncio.Task[str]) -> str:
        async def shut_down() -> None:
            self._state = "recycling"
            await self._request_on(session, c.CMD_SHUTDOWN, {}, self._stop_timeout)

        return await self._recycler.run(session, down, shut_down, self._request_timeout)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        sleeper = asyncio.create_task(self._clock.sleep(seconds))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            stopping.cancel()

    def _resolve_first_attempt(self) -> None:
        if self._first_attempt is not None and not self._first_attempt.done():
            self._first_attempt.set_result(None)

    def _schedule(self, callback: Callback, *args: Any) -> None:
        self._callbacks.schedule(callback, *args)
