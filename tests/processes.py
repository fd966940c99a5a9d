"""Start the real gateway as a process and wait for it with deadlines (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parent.parent


def gateway_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WA_", "API_KEY", "WEBHOOK_"))}
    env.update({"LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def sandbox_settings(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """A gateway on 127.0.0.1:``port`` with the sandbox engine in ``tmp_path/data``, no typing delay and
    no rate limits: what the process tests share; ``extra`` adds or overrides."""
    return {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        "TYPING_DELAY_MS": "0",
        "RATE_LIMIT_DEVICES": "0",
        "RATE_LIMIT_MESSAGES": "0",
        **extra,
    }


def start_gateway(
    env: Mapping[str, str],
    cwd: Path,
    args: tuple[str, ...] = (),
    log_path: Path | None = None,
    umask: int = -1,
    open_files: int | None = None,
) -> subprocess.Popen[bytes]:
    log = open(log_path or cwd / "gateway.log", "ab")
    try:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "gateway.py"), *args],
            cwd=cwd,
            env=gateway_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=umask,
            preexec_fn=None if open_files is None else lambda: _limit_open_files(open_files),
        )
    finally:
        log.close()


def _limit_open_files(limit: int) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


async def wait_healthy(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"gateway exited early with {proc.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("gateway did not become healthy in time")


async def wait_exit(proc: subprocess.Popen[bytes], deadline_s: float) -> int:
    try:
        return await asyncio.to_thread(proc.wait, deadline_s)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError("process did not exit in time") from None


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup: kill the whole process group (gateway and its engine worker)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


async def api_call(
    session: aiohttp.ClientSession, port: int, method: str, path: str, body: Any = None
) -> Any:
    """One API request to a gateway process on 127.0.0.1 with the admin key; its ``data`` (asserts a 200)."""
    async with session.request(
        method, f"http://127.0.0.1:{port}{path}", json=body, headers={"X-API-Key": API_KEY}
    ) as resp:
        payload = await resp.json()
        assert resp.status == 200, payload
        return payload["data"]
