"""One gateway per DATA_DIR, and a taken port fails before the engine starts.

See docs/architecture.md "One owner per DATA_DIR".
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from .processes import start_gateway, stop, wait_exit, wait_healthy
from .test_cli import sandbox_env

pytestmark = pytest.mark.slow


async def test_a_second_gateway_on_the_same_data_dir_exits_1_and_the_first_keeps_serving(
    tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    first_port, second_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    data_dir = str(tmp_path / "data")
    first = start_gateway(sandbox_env(tmp_path, first_port, DATA_DIR=data_dir), first_dir)
    try:
        await wait_healthy(first_port, first)
        started = time.monotonic()
        second = start_gateway(sandbox_env(tmp_path, second_port, DATA_DIR=data_dir), second_dir)
        try:
            assert await wait_exit(second, 20) == 1
        finally:
            stop(second)
        # Start-up of a Python process alone is most of this on a loaded machine; the lock is taken before
        # anything heavy is imported.
        assert time.monotonic() - started < 10
        lines = (second_dir / "gateway.log").read_text().strip().splitlines()
        expected = f"config error: DATA_DIR {data_dir} is in use by another wa-gateway (pid {first.pid})"
        assert lines == [expected]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{first_port}/health") as resp:
                assert resp.status == 200
        first.send_signal(signal.SIGTERM)
        assert await wait_exit(first, 10) == 0
    finally:
        stop(first)


async def test_the_lock_is_released_when_the_owner_is_killed(tmp_path: Path, unused_tcp_port: int) -> None:
    env = sandbox_env(tmp_path, unused_tcp_port)
    first = start_gateway(env, tmp_path)
    try:
        await wait_healthy(unused_tcp_port, first)
        first.kill()
        await wait_exit(first, 10)
        second = start_gateway(env, tmp_path)
        try:
            await wait_healthy(unused_tcp_port, second)
        finally:
            stop(second)
    finally:
        stop(first)


async def test_a_taken_port_fails_before_the_engine_worker_starts(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", unused_tcp_port)
    try:
        proc = start_gateway(sandbox_env(tmp_path, unused_tcp_port), tmp_path)
        try:
            assert await wait_exit(proc, 20) == 1
        finally:
            stop(proc)
    finally:
        server.close()
        await server.wait_closed()
    log = (tmp_path / "gateway.log").read_text()
    assert "cannot listen" in log
    assert "engine worker" not in log
