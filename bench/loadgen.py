"""HTTP load generator, run as its own process so it never shares the measured server's event loop.

A minimal HTTP/1.1 keep-alive client on asyncio protocols: each of ``--concurrency`` connections sends a
prebuilt request, waits for the whole response (Content-Length framed), checks it, and sends the next.
It costs far less CPU per request than a general-purpose client, so on a 2-core machine the server, not
the client, is what runs out first. ``--interval`` paces each connection instead (latency sampling).

Prints one JSON object: requests, errors, seconds, rps, p50/p90/p99/max in ms. Ends after ``--duration``
seconds or on SIGTERM/SIGINT, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from bench.stats import percentile

_HEADER_END: Final = b"\r\n\r\n"
_CONNECT_TIMEOUT_S: Final = 5.0
_RESPONSE_TIMEOUT_S: Final = 30.0
_RECONNECT_PAUSE_S: Final = 0.05


class ResponseError(Exception):
    pass


class _Connection(asyncio.Protocol):
    """One keep-alive connection that has at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionResetError("server closed the connection")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._lost)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        end = self._buffer.find(_HEADER_END)
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if marker < 0:
            self._waiter.set_exception(ResponseError("response without Content-Length"))
            return
        line_end = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : line_end if line_end > 0 else len(head)])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        self._waiter.set_result((status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self._lost is not None or self.transport is None:
            raise ConnectionResetError("connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await asyncio.wait_for(self._waiter, _RESPONSE_TIMEOUT_S)


def build_request(method: str, url: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}"]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += headers
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.latencies_ns: list[int] = []
        self.errors = 0
        self.total = 0  # successful responses, warm-up included (for CPU time per request)
        self.error_samples: list[str] = []
        self.recording = False
        self.stop = asyncio.Event()

    def _error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])

    async def _connect(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> _Connection | None:
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, host, port), _CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            self._error(f"connect: {exc!r}")
            return None
        return conn

    async def worker(self, index: int) -> None:
        bodies: list[str] = self.args.body or [""]
        host, port, raw = build_request(
            self.args.method, self.args.url, bodies[index % len(bodies)].encode(), self.args.header
        )
        loop = asyncio.get_running_loop()
        expect_body = self.args.expect_body.encode()
        conn: _Connection | None = None
        while not self.stop.is_set():
            if conn is None:
                conn = await self._connect(loop, host, port)
                if conn is None:
                    await asyncio.sleep(_RECONNECT_PAUSE_S)
                    continue
            started = time.perf_counter_ns()
            try:
                status, body = await conn.request(raw)
            except (OSError, TimeoutError, ResponseError, ValueError) as exc:
                self._error(f"request: {exc!r}")
                if conn.transport is not None:
                    conn.transport.abort()
                conn = None
                continue
            elapsed = time.perf_counter_ns() - started
            if status != self.args.expect_status or expect_body not in body:
                self._error(f"HTTP {status}: {body[:200]!r}")
            else:
                self.total += 1
                if self.recording:
                    self.latencies_ns.append(elapsed)
            if self.args.interval > 0:
                await _sleep_or_stop(self.stop, self.args.interval)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    async def main(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        workers = [asyncio.create_task(self.worker(i)) for i in range(self.args.concurrency)]
        await _sleep_or_stop(self.stop, self.args.warmup)
        self.errors = 0
        self.recording = True
        started = time.perf_counter()
        await _sleep_or_stop(self.stop, self.args.duration)
        self.recording = False
        seconds = time.perf_counter() - started
        self.stop.set()
        await asyncio.gather(*workers)
        ms = [ns / 1e6 for ns in self.latencies_ns]
        return {
            "requests": len(ms),
            "total": self.total,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "seconds": seconds,
            "rps": len(ms) / seconds if seconds > 0 else 0.0,
            "p50_ms": percentile(ms, 0.50),
            "p90_ms": percentile(ms, 0.90),
            "p99_ms": percentile(ms, 0.99),
            "max_ms": max(ms) if ms else float("nan"),
        }


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", action="append", help="request body; several rotate over connections")
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--interval", type=float, default=0.0, help="pause between requests (paced mode)")
    parser.add_argument("--expect-status", type=int, default=200)
    parser.add_argument("--expect-body", default='"success":true')
    args = parser.parse_args(argv)
    if args.url and not args.url.startswith("http://127.0.0.1"):
        parser.error("the load generator only targets http://127.0.0.1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(Run(args).main())
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
