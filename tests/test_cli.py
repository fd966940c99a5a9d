"""The command line and the real process: init, check-config, config errors, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from wa_gateway import __version__

from .processes import ROOT, gateway_env, start_gateway, stop, wait_exit, wait_healthy

KEY = "k" * 20


def sandbox_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """A sandbox gateway on 127.0.0.1:port with its data in tmp_path."""
    return {
        "API_KEY": KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "gateway.py"), *args],
        cwd=cwd,
        env=gateway_env(env or {}),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"wa-gateway {__version__}"


def test_init_writes_a_private_env_file_and_never_overwrites(tmp_path: Path) -> None:
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    env_file = tmp_path / ".env"
    text = env_file.read_text()
    key = re.search(r"^API_KEY=([0-9a-f]{64})$", text, re.M)
    assert key is not None
    assert key.group(1) not in result.stdout
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr
    assert env_file.read_text() == text
    forced = run_cli("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0 and env_file.read_text() != text
    # The file it writes is a valid configuration.
    check = run_cli("check-config", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "API_KEY=********" in check.stdout


def test_check_config_masks_secrets(tmp_path: Path) -> None:
    result = run_cli(
        "check-config", cwd=tmp_path, env={"API_KEY": "super-secret-key", "WEBHOOK_SECRET": "hook-secret"}
    )
    assert result.returncode == 0
    assert "super-secret-key" not in result.stdout and "hook-secret" not in result.stdout
    assert "WEBHOOK_SECRET=********" in result.stdout and "PORT=4010" in result.stdout


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "config error: API_KEY is required (set it in the environment or .env; `init` writes one)"),
        ({"API_KEY": "k", "PORT": "99999"}, "config error: PORT must be between 1 and 65535 (got 99999)"),
    ],
)
def test_bad_config_exits_1_with_one_line(tmp_path: Path, env: dict[str, str], line: str) -> None:
    result = run_cli(cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == line


@pytest.mark.slow
async def test_sigterm_exits_0_quickly(tmp_path: Path, unused_tcp_port: int) -> None:
    port = unused_tcp_port
    env = sandbox_env(tmp_path, port)
    proc = start_gateway(env, tmp_path)
    try:
        await wait_healthy(port, proc)
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws")
            await ws.send_json({"type": "auth", "apiKey": KEY})
            assert (await ws.receive_json(timeout=5))["success"] is True
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1001
            assert await wait_exit(proc, 10) == 0
            assert time.monotonic() - started < 5
    finally:
        stop(proc)
    log = (tmp_path / "gateway.log").read_text()
    assert '"msg":"listening"' in log and '"msg":"stopped"' in log
    assert KEY not in log


@pytest.mark.slow
async def test_port_in_use_exits_1(tmp_path: Path, unused_tcp_port: int) -> None:
    port = unused_tcp_port
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    try:
        env = sandbox_env(tmp_path, port)
        proc = start_gateway(env, tmp_path)
        try:
            assert await wait_exit(proc, 20) == 1
        finally:
            stop(proc)
    finally:
        server.close()
        await server.wait_closed()
    assert "cannot listen" in (tmp_path / "gateway.log").read_text()


@pytest.mark.slow
async def test_sigterm_to_gateway_and_worker_at_once_exits_0(tmp_path: Path, unused_tcp_port: int) -> None:
    """systemd's default KillMode=control-group signals every process of the service together."""
    port = unused_tcp_port
    env = sandbox_env(tmp_path, port)
    proc = start_gateway(env, tmp_path)
    try:
        await wait_healthy(port, proc)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/health/detailed"
            async with session.get(url, headers={"X-API-Key": KEY}) as resp:
                worker_pid = (await resp.json())["data"]["worker"]["pid"]
        proc.send_signal(signal.SIGTERM)
        os.kill(worker_pid, signal.SIGTERM)
        assert await wait_exit(proc, 10) == 0
    finally:
        stop(proc)
    log = (tmp_path / "gateway.log").read_text()
    assert "never retrieved" not in log and "Traceback" not in log
    assert "SIGKILL" not in log, "the worker was stopping already; nothing needed killing"
    assert '"msg":"stopped"' in log


async def _linked_gateway(tmp_path: Path, port: int, typing_ms: int) -> subprocess.Popen[bytes]:
    env = sandbox_env(tmp_path, port, TYPING_DELAY_MS=str(typing_ms))
    proc = start_gateway(env, tmp_path)
    await wait_healthy(port, proc)
    async with aiohttp.ClientSession(headers={"X-API-Key": KEY}) as session:
        base = f"http://127.0.0.1:{port}"
        for path, body in (("/devices", {"token": "60123456789"}), ("/sandbox/devices/60123456789/link", {})):
            async with session.post(base + path, json=body) as resp:
                assert resp.status == 200, await resp.text()
    return proc


async def _send_then_signal(
    port: int, proc: subprocess.Popen[bytes], signals: int, log: Path
) -> tuple[int, float]:
    async with aiohttp.ClientSession(headers={"X-API-Key": KEY}) as session:
        send = asyncio.create_task(
            session.post(
                f"http://127.0.0.1:{port}/messages",
                json={"token": "60123456789", "to": "60198765432", "text": "in flight"},
            )
        )
        # In flight once the engine holds it (the sandbox is "typing").
        deadline = time.monotonic() + 10
        while True:
            async with session.get(f"http://127.0.0.1:{port}/health/detailed") as resp:
                if (await resp.json())["data"]["worker"]["pendingRequests"] >= 1:
                    break
            assert time.monotonic() < deadline, "the send never reached the engine"
            await asyncio.sleep(0.01)  # polling another process with a deadline, for a positive condition
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        if signals > 1:
            # Identical pending signals coalesce: send the second once the first was handled.
            while '"msg":"shutting down"' not in await asyncio.to_thread(log.read_text):
                assert time.monotonic() - started < 10
                await asyncio.sleep(0.01)  # polling the gateway's log with a deadline, as above
            proc.send_signal(signal.SIGTERM)
        code = await wait_exit(proc, 15)
        elapsed = time.monotonic() - started
        try:
            resp = await send
            status = resp.status
        except aiohttp.ClientError:
            status = 0
    return (code if signals > 1 else status), elapsed


@pytest.mark.slow
async def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path, unused_tcp_port: int) -> None:
    proc = await _linked_gateway(tmp_path, unused_tcp_port, typing_ms=1500)
    try:
        status, _ = await _send_then_signal(unused_tcp_port, proc, 1, tmp_path / "gateway.log")
        assert status == 200
        assert proc.returncode == 0
    finally:
        stop(proc)


@pytest.mark.slow
async def test_second_signal_exits_at_once(tmp_path: Path, unused_tcp_port: int) -> None:
    proc = await _linked_gateway(tmp_path, unused_tcp_port, typing_ms=20000)
    try:
        code, elapsed = await _send_then_signal(unused_tcp_port, proc, 2, tmp_path / "gateway.log")
        assert code == 128 + signal.SIGTERM
        assert elapsed < 5
    finally:
        stop(proc)
