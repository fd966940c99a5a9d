"""One gateway per DATA_DIR, and a taken port fails before any device connects (real processes)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import aiohttp
import pytest

from .conftest import API_KEY
from .processes import start_gateway, stop, wait_exit, wait_healthy

pytestmark = pytest.mark.slow


def env_for(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_second_gateway_on_the_same_data_dir_exits_at_once(tmp_path: Path) -> None:
    first_port = free_port()
    first = start_gateway(env_for(tmp_path, first_port), tmp_path)
    try:
        await wait_healthy(first_port, first)
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        started = time.monotonic()
        second = start_gateway(env_for(tmp_path, free_port()), second_dir)
        try:
            code = await wait_exit(second, 5)
        finally:
            stop(second)
        assert time.monotonic() - started < 1.5
        assert code == 1
        lines = (second_dir / "gateway.log").read_text().splitlines()
        data = tmp_path / "data"
        assert lines[-1] == f"config error: DATA_DIR {data} is in use by another wa-gateway (pid {first.pid})"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{first_port}/health") as resp:
                assert resp.status == 200
        assert first.poll() is None
    finally:
        stop(first)


async def test_taken_port_fails_before_the_engine_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        proc = start_gateway(env_for(tmp_path, port), tmp_path)
        try:
            code = await wait_exit(proc, 10)
        finally:
            stop(proc)
    assert code == 1
    log = (tmp_path / "gateway.log").read_text()
    assert "cannot listen" in log
    assert "engine worker" not in log
    # The lock went with the process: the next gateway on that directory starts.
    port = free_port()
    again = start_gateway(env_for(tmp_path, port), tmp_path)
    try:
        await wait_healthy(port, again)
    finally:
        stop(again)
