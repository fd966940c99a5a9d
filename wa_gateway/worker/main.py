"""The engine worker process: one backend, serving the gateway's commands over an inherited socket.

Started by ``EngineSupervisor`` as ``<worker_command()> --fd N`` with its configuration as a JSON object read
from an inherited pipe (``worker/config.py``). The wire protocol is in ``contract.py``; stdout and stderr
carry only logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.engine import send_ids
from wa_gateway.engine.ipc import (
    FrameReader,
    FrameTooLarge,
    FrameWriter,
    Message,
    ProtocolError,
    encode_frame,
    open_stream,
)
from wa_gateway.engine.launcher import BUILD_ID
from wa_gateway.engine.worker_log import configure_worker_logging
from wa_gateway.engine.worker_stats import WorkerStats, stats_of
from wa_gateway.worker.backends import TEST_BACKEND_MODULE_KEY as TEST_BACKEND_MODULE_KEY
from wa_gateway.worker.backends import load_backend_factory
from wa_gateway.worker.commands import dispatch
from wa_gateway.worker.config import read_config
from wa_gateway.worker.journal import JOURNAL_FILE, EventJournal, SupportsJournalBarrier

EXIT_OK: Final = 0
EXIT_PROTOCOL: Final = 1
EXIT_USAGE: Final = 2
EXIT_BACKEND: Final = 3

# Only honoured when the config has "test_hooks": true. Lets the supervisor's tests simulate a worker
# whose event loop is stuck (a Go call that never returns on the loop thread, for one).
TEST_CMD_BLOCK_LOOP: Final = "_test_block_loop"
# Also test-only: {count} threads that never return, as engine calls a stop could not end (recycling).
TEST_CMD_STUCK_THREADS: Final = "_test_stuck_threads"
# Measures what the journal costs (bench/journal_cost.py); never set in production.
NO_JOURNAL_KEY: Final = "test_no_journal"

BACKEND_CLOSE_TIMEOUT: Final = 15.0
OUTBOX_FLUSH_TIMEOUT: Final = 5.0
EXECUTOR_SHUTDOWN_TIMEOUT: Final = 5.0

log = logging.getLogger("wa_gateway.engine.worker")


class WorkerServer:
    """Serves one gateway connection: builds the backend, says hello, answers requests, forwards events."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: FrameWriter,
        config: dict[str, Any],
        backend_factory: c.BackendFactory | None = None,
    ) -> None:
        self._frames = FrameReader(reader)
        self._writer = writer
        self._config = config
        self._backend_factory = backend_factory
        # Durable events come already encoded: the journal wrote the same bytes (worker/journal.py).
        self._outbox: asyncio.Queue[Message | bytes | None] = asyncio.Queue()
        self._requests: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._closed = False
        self._test_hooks = config.get("test_hooks") is True
        self._journal = _journal_for(config, self._enqueue)
        self._test_stuck: list[threading.Thread] = []

    def request_stop(self) -> None:
        """Ends serving as if the gateway had asked for shutdown (SIGTERM)."""
        self._stop.set()

    async def run(self) -> int:
        writer_task = asyncio.create_task(self._write_loop(), name="ipc-writer")
        backend: c.EngineBackend | None = None
        shutdown_id: int | None = None
        try:
            try:
                await self._journal.open()
                backend = await self._create_backend()
            except Exception as exc:
                log.exception("engine backend failed to start")
                self._enqueue({"type": "fatal", "code": c.E_ENGINE_FAILURE, "message": _describe(exc)})
                return EXIT_BACKEND
            self._enqueue(
                {
                    "type": "hello",
                    "pid": os.getpid(),
                    "engine": backend.name,
                    "version": BUILD_ID,
                }
            )
            code, shutdown_id = await self._serve(backend)
            return code
        finally:
            await self._close(backend)
            if shutdown_id is not None:
                self._enqueue({"type": "reply", "id": shutdown_id, "ok": True, "result": None})
            self._outbox.put_nowait(None)
            try:
                await asyncio.wait_for(writer_task, OUTBOX_FLUSH_TIMEOUT)
            except (TimeoutError, ConnectionError, OSError):
                writer_task.cancel()
            await self._writer.close()

    async def _create_backend(self) -> c.EngineBackend:
        factory = self._backend_factory or load_backend_factory(self._config, self._test_hooks)
        backend = await factory(self._config)
        if isinstance(backend, SupportsJournalBarrier):
            backend.set_journal_barrier(self._journal.flushed)
        try:
            await backend.start(self._emit)
        except BaseException:
            # A half-started backend may hold threads or files that would keep the process alive.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(backend.close(), BACKEND_CLOSE_TIMEOUT)
            raise
        return backend

    async def _serve(self, backend: c.EngineBackend) -> tuple[int, int | None]:
        reading = asyncio.create_task(self._read_loop(backend), name="ipc-reader")
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not reading.done():
            log.info("stop requested; shutting down")
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            return EXIT_OK, None
        return reading.result()

    async def _read_loop(self, backend: c.EngineBackend) -> tuple[int, int | None]:
        while True:
            try:
                message = await self._frames.read()
            except ProtocolError as exc:
                log.error("bad frame from the gateway: %s", exc)
                return EXIT_PROTOCOL, None
            except (ConnectionError, OSError) as exc:
                log.info("gateway connection lost: %s", exc)
                return EXIT_OK, None
            if message is None:
                # The gateway closed its end: it exited or died, and an orphaned worker helps nobody.
                log.info("gateway closed the connection; exiting")
                return EXIT_OK, None
            kind = message.get("type")
            if kind == "ack":
                seqs = message.get("seqs")
                if isinstance(seqs, list):
                    self._journal.ack(seqs)
            elif kind == "ping":
                # The figures ride on the heartbeat, so /health and /metrics never wait on the worker.
                self._enqueue({"type": "pong", "id": message.get("id"), "stats": self._stats(backend)})
            elif kind == "request":
                if message.get("cmd") == c.CMD_SHUTDOWN and isinstance(message.get("id"), int):
                    log.info("shutdown requested by the gateway")
                    return EXIT_OK, message["id"]
                task = asyncio.create_task(self._handle(backend, message))
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)
            else:
                log.warning("ignoring message of unknown type %r", kind)

    async def _handle(self, backend: c.EngineBackend, message: Message) -> None:
        request_id = message.get("id")
        cmd = message.get("cmd")
        args = message.get("args")
        try:
            if not isinstance(request_id, int) or not isinstance(cmd, str):
                raise c.EngineError(c.E_INVALID_ARGUMENT, "request needs an integer id and a command")
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise c.EngineError(c.E_INVALID_ARGUMENT, "args must be an object")
            send_id = args.pop(send_ids.ARG_SEND_ID, None)
            if send_id is not None and not (
                isinstance(send_id, str) and send_ids.SEND_ID_RE.fullmatch(send_id)
            ):
                raise c.EngineError(c.E_INVALID_ARGUMENT, "send_id must be 3EB0 and 18 upper-case hex digits")
            # Each command runs in its own task, so the chosen id is this command's alone.
            send_ids.choose(send_id)
            result = await self._dispatch(backend, cmd, args)
            # Whatever the command made the backend emit (a sandbox message, say) is on disk before
            # the caller hears back: the acknowledgement of an event's source follows its journal write.
            await self._journal.flushed()
            reply: Message = {"type": "reply", "id": request_id, "ok": True, "result": result}
        except c.EngineError as exc:
            reply = _error_reply(request_id, exc.code, exc.message)
        except Exception:
            log.exception("command %r failed", cmd)
            reply = _error_reply(request_id, c.E_ENGINE_FAILURE, f"engine failed to run {cmd!r}")
        self._enqueue(reply)

    async def _dispatch(self, backend: c.EngineBackend, cmd: str, args: dict[str, Any]) -> Any:
        if cmd == TEST_CMD_BLOCK_LOOP and self._test_hooks:
            seconds = float(args.get("seconds", 60))
            log.warning("test hook: blocking the event loop for %.1f s", seconds)
            time.sleep(seconds)  # noqa: ASYNC251 -- blocking the loop is the point: a hung worker
            return None
        if cmd == TEST_CMD_STUCK_THREADS and self._test_hooks:
            never = threading.Event()
            for _ in range(int(args.get("count", 1))):
                thread = threading.Thread(target=never.wait, daemon=True, name="test-stuck")
                thread.start()
                self._test_stuck.append(thread)
            return None
        if cmd == c.CMD_REPLAY_EVENTS:
            replayed = await self._journal.replay()
            if replayed:
                log.info("replaying %d unacknowledged events", replayed)
            return {"replayed": replayed}
        return await dispatch(backend, cmd, args, self._config)

    def _stats(self, backend: c.EngineBackend) -> WorkerStats:
        stats = stats_of(backend)
        if self._test_stuck:
            stuck = sum(1 for thread in self._test_stuck if thread.is_alive())
            stats["stuckThreads"] = stats.get("stuckThreads", 0) + stuck
        return stats

    def _emit(self, token: str, event: str, data: dict[str, Any]) -> None:
        if self._closed:
            log.debug("dropping %s event for %s emitted after close", event, token)
            return
        self._journal.emit(token, event, data)

    def _enqueue(self, message: Message | bytes) -> None:
        self._outbox.put_nowait(message)

    async def _write_loop(self) -> None:
        # One writer keeps replies and events in the order they were produced.
        while (message := await self._outbox.get()) is not None:
            if isinstance(message, bytes):
                frame = message
            else:
                try:
                    frame = encode_frame(message)
                except (TypeError, FrameTooLarge) as exc:
                    log.error("cannot encode %s message: %s", message.get("type"), exc)
                    if message.get("type") != "reply":
                        continue
                    reply = _error_reply(
                        message.get("id"), c.E_ENGINE_FAILURE, "engine reply could not be encoded"
                    )
                    frame = encode_frame(reply)
            try:
                await self._writer.send_frame(frame)
            except (ConnectionError, OSError) as exc:
                log.info("cannot write to the gateway: %s", exc)
                return

    async def _close(self, backend: c.EngineBackend | None) -> None:
        self._closed = True
        pending = list(self._requests)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if backend is not None:
            try:
                await asyncio.wait_for(backend.close(), BACKEND_CLOSE_TIMEOUT)
            except Exception:
                log.exception("engine backend did not close cleanly")
        try:
            await self._journal.close()
        except Exception:
            log.exception("event journal did not close cleanly")


def _journal_for(config: dict[str, Any], send: Callable[[Message | bytes], None]) -> EventJournal:
    data_dir = config.get("data_dir")
    path = Path(data_dir) / JOURNAL_FILE if isinstance(data_dir, str) and data_dir else None
    if config.get(NO_JOURNAL_KEY) is True and config.get("test_hooks") is True:
        path = None
    return EventJournal(path, send, lambda: int(time.time() * 1000))


def _error_reply(request_id: Any, code: str, message: str) -> Message:
    return {"type": "reply", "id": request_id, "ok": False, "error": {"code": code, "message": message}}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _run(sock: socket.socket, config: dict[str, Any], config_error: str | None) -> int:
    reader, writer = await open_stream(sock)
    if config_error is not None:
        log.error("bad worker configuration: %s", config_error)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.send({"type": "fatal", "code": c.E_ENGINE_FAILURE, "message": config_error})
        await writer.close()
        return EXIT_USAGE
    server = WorkerServer(reader, writer, config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, server.request_stop)
    code = await server.run()
    loop.remove_signal_handler(signal.SIGTERM)
    return code


async def _serve_then_wind_down(sock: socket.socket, config: dict[str, Any], config_error: str | None) -> int:
    code = await _run(sock, config, config_error)
    loop = asyncio.get_running_loop()
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    await loop.shutdown_asyncgens()
    try:
        # Bounded, unlike asyncio.run: a backend may leave an executor thread inside a call that never
        # returns (docs/neonize.md §0.3, §2).
        await asyncio.wait_for(loop.shutdown_default_executor(), EXECUTOR_SHUTDOWN_TIMEOUT)
    except TimeoutError:
        log.warning("executor threads still busy after shutdown; exiting anyway")
    return code


def _run_loop(sock: socket.socket, config: dict[str, Any], config_error: str | None) -> int:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_serve_then_wind_down(sock, config, config_error))
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wa-gateway engine-worker",
        description="Engine worker (started by the gateway; not meant to be run by hand).",
    )
    parser.add_argument("--fd", type=int, required=True, help="inherited socket connected to the gateway")
    args = parser.parse_args(argv)
    config, config_error = read_config()
    log_level = config.get("log_level")
    configure_worker_logging(log_level if isinstance(log_level, str) else "info")
    # Ctrl+C in a terminal reaches the whole process group; the gateway decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.set_inheritable(args.fd, False)  # nothing the backend spawns may hold the IPC socket open
        sock = socket.socket(fileno=args.fd)
    except OSError as exc:
        log.error("cannot use --fd %d: %s", args.fd, exc)
        return EXIT_USAGE
    code = _run_loop(sock, config, config_error)
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        # A thread stuck in foreign code would keep the interpreter from exiting; the gateway is gone or
        # asked us to stop, so leave now.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
