"""Keeps one engine worker running for the gateway: spawn, heartbeat, restart with backoff, requests by id."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from wa_gateway.clock import Clock
from wa_gateway.engine import contract as c
from wa_gateway.engine.ipc import FrameTooLarge, Message
from wa_gateway.engine.launcher import BUILD_ID, worker_command, worker_env
from wa_gateway.engine.worker_process import ENGINE_LOGGER, WorkerProcess
from wa_gateway.worker.main import CONFIG_ENV

E_ENGINE_UNAVAILABLE: Final = "ENGINE_UNAVAILABLE"
E_ENGINE_TIMEOUT: Final = "ENGINE_TIMEOUT"
# The request was written to the worker, which died before answering: it may have run.
E_ENGINE_LOST: Final = "ENGINE_LOST"

EXIT_GRACE: Final = 2.0
CALLBACK_DRAIN_TIMEOUT: Final = 5.0

log = logging.getLogger(ENGINE_LOGGER)

SupervisorState = Literal["idle", "starting", "up", "backoff", "stopping", "stopped"]
# (token, event, data, stamp): ``stamp`` is set for journaled events, which the gateway must ``ack``.
OnEvent = Callable[[str, str, dict[str, Any], c.EventStamp | None], Awaitable[None] | None]
OnWorkerUp = Callable[[bool], Awaitable[None] | None]
OnWorkerDown = Callable[[str], Awaitable[None] | None]
_Callback = Callable[..., Awaitable[None] | None]


class EngineUnavailable(c.EngineError):
    """No worker is up, or it died while the request was in flight."""

    def __init__(self, message: str = "engine worker is not running") -> None:
        super().__init__(E_ENGINE_UNAVAILABLE, message)


class EngineLost(EngineUnavailable):
    """The worker received the request and went away before answering; its outcome is unknown."""

    def __init__(self) -> None:
        c.EngineError.__init__(self, E_ENGINE_LOST, "engine worker went away after receiving the request")


class EngineTimeout(c.EngineError):
    def __init__(self, cmd: str, seconds: float) -> None:
        super().__init__(E_ENGINE_TIMEOUT, f"engine did not answer {cmd!r} within {seconds:g} s")


def _expire(timer: asyncio.Future[None], reply: asyncio.Future[Any], cmd: str, limit: float) -> None:
    if not timer.cancelled() and timer.exception() is None and not reply.done():
        reply.set_exception(EngineTimeout(cmd, limit))


@dataclass(eq=False)
class _Session:
    """Book-keeping for one worker process between its spawn and its teardown."""

    process: WorkerProcess
    last_seen: float
    hello: asyncio.Future[Message]
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    fatal: str | None = None
    up_since: float | None = None
    explain_by_exit: bool = False


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
        self._session: _Session | None = None
        self._live: _Session | None = None  # the session that said hello and serves requests
        self._ids = itertools.count(1)
        self._restarts = 0
        self._last_error: str | None = None
        self._stopping = asyncio.Event()
        self._callbacks: asyncio.Queue[tuple[_Callback, tuple[Any, ...]]] = asyncio.Queue()
        self._run_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
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
        }

    async def start(self) -> None:
        """Spawn the worker; returns once it said hello or its first attempt failed (it keeps retrying)."""
        if self._run_task is not None:
            raise RuntimeError("EngineSupervisor.start() called twice")
        self._first_attempt = asyncio.get_running_loop().create_future()
        self._dispatch_task = asyncio.create_task(self._dispatch_callbacks(), name="engine-callbacks")
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._callbacks.join(), CALLBACK_DRAIN_TIMEOUT)
        if self._dispatch_task is not None:
            self._dispatch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatch_task
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
        return await self._request_on(
            live, cmd, args or {}, self._request_timeout if timeout is None else timeout
        )

    # --- requests -------------------------------------------------------------------------------

    async def _request_on(self, session: _Session, cmd: str, args: Mapping[str, Any], limit: float) -> Any:
        request_id = next(self._ids)
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        message = {"type": "request", "id": request_id, "cmd": cmd, "args": dict(args)}
        try:
            # Not waiting for the socket to drain: the reply's deadline bounds every request, and the
            # ping watchdog ends a worker that stops reading, so what is queued meanwhile stays bounded.
            session.process.writer.send_nowait(message)
        except FrameTooLarge as exc:
            raise c.EngineError(c.E_INVALID_ARGUMENT, f"request too large: {exc}") from None
        except (ConnectionError, OSError):
            raise EngineUnavailable("engine worker connection lost") from None
        session.pending[request_id] = reply
        # One timer on the injected clock (tests move it) instead of a task per exchange: this runs
        # for every engine call (BENCHMARKS.md, "Where the time goes").
        timer = asyncio.ensure_future(self._clock.sleep(limit))
        timer.add_done_callback(lambda done: _expire(done, reply, cmd, limit))
        try:
            return await reply
        except EngineLost:
            raise
        except EngineUnavailable:
            raise EngineLost() from None
        finally:
            timer.cancel()
            session.pending.pop(request_id, None)

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

    def _on_frame(self, session: _Session, message: Message) -> None:
        session.last_seen = self._clock.monotonic()
        kind = message.get("type")
        if kind == "reply":
            request_id = message.get("id")
            future = session.pending.pop(request_id, None) if isinstance(request_id, int) else None
            if future is None or future.done():
                return  # its caller gave up (timeout or cancellation)
            if message.get("ok") is True:
                future.set_result(message.get("result"))
            else:
                error = message.get("error")
                error = error if isinstance(error, dict) else {}
                future.set_exception(
                    c.EngineError(
                        str(error.get("code") or c.E_ENGINE_FAILURE),
                        str(error.get("message") or "engine command failed"),
                    )
                )
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
        elif kind != "pong":
            log.warning("ignoring engine message of unknown type %r", kind)

    # --- the worker's life cycle ----------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        first_start = True
        while not self._stopping.is_set():
            self._state = "starting"
            up_for = await self._run_one(first_start)
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
        env[CONFIG_ENV] = orjson.dumps(self._config).decode()
        try:
            process = await WorkerProcess.spawn(self._command, "--fd", env)
        except OSError as exc:
            self._last_error = f"cannot start engine worker: {exc}"
            log.error("%s", self._last_error)
            return None
        loop = asyncio.get_running_loop()
        session = _Session(process=process, last_seen=self._clock.monotonic(), hello=loop.create_future())
        self._session = session
        process.start(lambda message: self._on_frame(session, message))
        log.info("engine worker %d started (%s)", process.pid, self.engine)
        down = asyncio.create_task(process.wait_down())
        heartbeat: asyncio.Task[str] | None = None
        reason = "engine worker stopped"
        try:
            reason_or_hello = await self._wait_hello(session, down)
            if isinstance(reason_or_hello, str):
                reason = reason_or_hello
                return None
            self._became_up(session, reason_or_hello, first_start)
            heartbeat = asyncio.create_task(self._heartbeat(session))
            done, _ = await asyncio.wait({down, heartbeat}, return_when=asyncio.FIRST_COMPLETED)
            if heartbeat in done:
                reason = heartbeat.result()
            else:
                reason = down.result()
                # "closed its connection" says less than the exit code or signal known once reaped.
                session.explain_by_exit = process.stream_ended
            return self._clock.monotonic() - (session.up_since or 0.0)
        finally:
            await self._teardown(session, reason, down, heartbeat)

    async def _wait_hello(self, session: _Session, down: asyncio.Task[str]) -> Message | str:
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

    def _became_up(self, session: _Session, hello: Message, first_start: bool) -> None:
        session.up_since = session.last_seen = self._clock.monotonic()
        self._live = session
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

    async def _heartbeat(self, session: _Session) -> str:
        for ping_id in itertools.count(1):
            await self._clock.sleep(self._heartbeat_interval)
            silent_for = self._clock.monotonic() - session.last_seen
            if silent_for > self._heartbeat_timeout:
                session.process.kill()
                return f"engine worker hung (silent for {silent_for:.1f} s); killed"
            # Not drained: a hung worker stops reading, and waiting on its socket would stall this check.
            with contextlib.suppress(ConnectionError, OSError):
                session.process.writer.send_nowait({"type": "ping", "id": ping_id})
        raise AssertionError("unreachable")

    async def _teardown(
        self, session: _Session, reason: str, down: asyncio.Task[str], heartbeat: asyncio.Task[str] | None
    ) -> None:
        was_live = self._live is session
        self._live = None
        # Fail in-flight requests first so callers learn at once, not after the process is reaped.
        failure = EngineUnavailable("engine worker went away")
        for future in session.pending.values():
            if not future.done():
                future.set_exception(failure)
                # Its caller may be gone already (cancelled); don't let asyncio log it as unretrieved.
                future.exception()
        session.pending.clear()
        watchers = [down] if heartbeat is None else [down, heartbeat]
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

    # --- callbacks ------------------------------------------------------------------------------

    def _schedule(self, callback: _Callback, *args: Any) -> None:
        self._callbacks.put_nowait((callback, args))

    async def _dispatch_callbacks(self) -> None:
        while True:
            callback, args = await self._callbacks.get()
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("engine callback %s failed", getattr(callback, "__name__", callback))
            finally:
                self._callbacks.task_done()
