"""One spawned engine worker seen from the gateway: the child process, its socket and its log pipes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from wa_gateway.engine.ipc import FrameReader, FrameWriter, Message, ProtocolError, open_stream
from wa_gateway.engine.worker_log import MAX_LINE_CHARS, parse_worker_log_line, scrub_phones

ENGINE_LOGGER: Final = "wa_gateway.engine"
_PIPE_CHUNK: Final = 65536
PUMP_DRAIN_TIMEOUT: Final = 2.0

engine_log = logging.getLogger(ENGINE_LOGGER)

FrameHandler = Callable[[Message], None]


class WorkerProcess:
    """A running worker: frames in go to ``on_frame``; ``down`` resolves with why the worker is gone."""

    def __init__(
        self, proc: asyncio.subprocess.Process, reader: asyncio.StreamReader, writer: FrameWriter
    ) -> None:
        self.proc = proc
        self.writer = writer
        self._reader = reader
        self._tasks: list[asyncio.Task[str]] = []
        self.stream_ended = False  # the worker closed the socket (as opposed to breaking the protocol)
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def spawn(
        cls, command: Sequence[str], fd_arg: str, env: Mapping[str, str], extra_fds: Sequence[int] = ()
    ) -> WorkerProcess:
        """Start ``command + [fd_arg, <fd>]`` with one end of a fresh socketpair (and ``extra_fds``)."""
        parent_end, child_end = socket.socketpair()
        try:
            reader, writer = await open_stream(parent_end)
        except BaseException:
            parent_end.close()
            child_end.close()
            raise
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                fd_arg,
                str(child_end.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(child_end.fileno(), *extra_fds),
                env=dict(env),
            )
        except BaseException:
            await writer.close()
            raise
        finally:
            # Our copy of the child's end must go at once, or we never see EOF when the worker dies
            # (docs/packaging.md pitfall 3).
            child_end.close()
        return cls(proc, reader, writer)

    def start(self, on_frame: FrameHandler) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            asyncio.create_task(self._pump(self.proc.stdout, logging.INFO)),
            asyncio.create_task(self._pump(self.proc.stderr, logging.WARNING)),
        ]
        self._tasks = [
            asyncio.create_task(self._read_loop(on_frame)),
            asyncio.create_task(self._watch_exit()),
        ]

    async def wait_down(self) -> str:
        """Why the worker stopped serving: end of its stream, a protocol error, or its exit."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def close(self, grace: float) -> None:
        """Reap the process (killing it after ``grace`` seconds), then release the socket and pipes."""
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                engine_log.warning("engine worker %d did not exit within %.1f s; killing it", self.pid, grace)
                self.kill()
        await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.writer.close()
        # The pipes reach EOF once the worker is gone, unless something it spawned still holds them.
        if self._pumps:
            _, stuck = await asyncio.wait(self._pumps, timeout=PUMP_DRAIN_TIMEOUT)
            for pump in stuck:
                pump.cancel()
            await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _read_loop(self, on_frame: FrameHandler) -> str:
        try:
            frames = FrameReader(self._reader)
            while (message := await frames.read()) is not None:
                on_frame(message)
        except ProtocolError as exc:
            self.kill()  # a worker that breaks the protocol cannot be trusted with anything else
            return f"engine worker broke the protocol: {exc}"
        except (ConnectionError, OSError) as exc:
            self.stream_ended = True
            return f"engine worker connection lost: {exc}"
        self.stream_ended = True
        return "engine worker closed its connection"

    async def _watch_exit(self) -> str:
        await self.proc.wait()
        return self.exit_status()

    def exit_status(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "engine worker is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"engine worker killed by {name}"
        return f"engine worker exited with code {code}"

    async def _pump(self, stream: asyncio.StreamReader, raw_level: int) -> None:
        pending = b""
        while chunk := await stream.read(_PIPE_CHUNK):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._log_line(line, raw_level)
            if len(pending) > MAX_LINE_CHARS:
                self._log_line(pending, raw_level)
                pending = b""
        if pending:
            self._log_line(pending, raw_level)

    def _log_line(self, raw: bytes, raw_level: int) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip():
            return
        extra = {"engine_pid": self.pid}
        parsed = parse_worker_log_line(text)
        if parsed is not None:
            engine_log.log(
                parsed.level, "%s", parsed.message, extra={**extra, "engine_logger": parsed.logger}
            )
            return
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "…"
        # Raw lines come from foreign code in the worker (whatsmeow prints to fd 1/2, docs/neonize.md §0.8).
        engine_log.log(raw_level, "engine output: %s", scrub_phones(text), extra=extra)
