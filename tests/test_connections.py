"""Idle and half-sent connections are closed; running out of descriptors is one log line per interval."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from wa_gateway.clock import ManualClock
from wa_gateway.connections import EXHAUSTION_LOG_INTERVAL_S, ExhaustionLogger, HeaderTimeoutGuard

from .conftest import API_KEY
from .harness import wait_for
from .processes import start_gateway, stop, wait_exit

HEADER_TIMEOUT_S = 10.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[web.AppRunner, int]]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner, site.port
    finally:
        await runner.cleanup()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


async def test_connections_without_a_request_head_are_closed(served: tuple[web.AppRunner, int]) -> None:
    runner, port = served
    assert runner.server is not None
    clock = ManualClock()
    guard = HeaderTimeoutGuard(runner.server, HEADER_TIMEOUT_S, clock)
    silent_r, silent_w = await asyncio.open_connection("127.0.0.1", port)
    slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)
    slow_w.write(b"GET / HTTP/1.1\r\nHost: gateway\r\n")  # a head that never ends (slowloris)
    await slow_w.drain()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/") as resp:
            assert await resp.text() == "hi"
        server = runner.server

        async def three_connections() -> bool:
            return len(server.connections) == 3

        await wait_for(three_connections, what="three connections")
        assert guard.sweep() == 0
        clock.advance(HEADER_TIMEOUT_S - 0.01)
        assert guard.sweep() == 0
        clock.advance(0.01)
        assert guard.sweep() == 2
        assert await _closed_by_server(silent_r) and await _closed_by_server(slow_r)
        # The keep-alive connection that sent a request is left to aiohttp's idle timeout, and reused.
        async with session.get(f"http://127.0.0.1:{port}/") as resp:
            assert await resp.text() == "hi"
        assert len(runner.server.connections) == 1
    for writer in (silent_w, slow_w):
        writer.close()


def test_running_out_of_descriptors_is_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    handler = ExhaustionLogger(clock)
    loop = asyncio.new_event_loop()
    try:
        emfile = {"message": "accept() out of system resource", "exception": OSError(errno.EMFILE, "x")}
        with caplog.at_level(logging.ERROR):
            for _ in range(100):
                handler(loop, emfile)
                clock.advance(0.5)
            lines = [r for r in caplog.records if r.name == "wa_gateway.http"]
            assert len(lines) == 1 + int(100 * 0.5 // EXHAUSTION_LOG_INTERVAL_S)
            assert all(r.exc_info is None for r in lines)
            handler(loop, {"message": "something else", "exception": ValueError("boom")})
            assert caplog.records[-1].name == "asyncio"
    finally:
        loop.close()


@pytest.mark.slow
async def test_300_idle_sockets_do_not_starve_health(tmp_path: Path, unused_tcp_port: int) -> None:
    port = unused_tcp_port
    env = {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        "HTTP_HEADER_TIMEOUT_SECONDS": "1",
    }
    proc = start_gateway(env, tmp_path, open_files=128)
    sockets: list[asyncio.StreamWriter] = []
    try:
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(healthy, within=20, what="gateway up")
            for _ in range(300):
                sockets.append((await asyncio.open_connection("127.0.0.1", port))[1])
            timeout = aiohttp.ClientTimeout(total=20)
            async with session.get(f"http://127.0.0.1:{port}/health", timeout=timeout) as resp:
                assert resp.status == 200
        proc.terminate()
        assert await wait_exit(proc, 20) == 0
    finally:
        for writer in sockets:
            writer.close()
        stop(proc)
    log = (tmp_path / "gateway.log").read_text()
    assert "Traceback" not in log
    assert log.count("cannot accept connections") <= 1
