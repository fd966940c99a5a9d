"""DATA_DIR stays private to the gateway's user whatever umask it was started with (real process)."""

from __future__ import annotations

import asyncio
import signal
import stat
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from .conftest import API_KEY
from .processes import start_gateway, stop, wait_exit, wait_healthy
from .test_durability import TOKEN, call
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


async def test_data_dir_is_0700_and_its_files_0600_under_umask_0(
    tmp_path: Path, unused_tcp_port: int, aiohttp_server: AiohttpServer
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as an older version, or a careless mkdir, left it
    data.chmod(0o755)
    port = unused_tcp_port
    env = {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(data),
        "WEBHOOK_URL": str(server.make_url("/hook")),
        "TYPING_DELAY_MS": "0",
    }
    proc = start_gateway(env, tmp_path, umask=0)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, proc)
            await call(session, port, "POST", "/devices", {"token": TOKEN})
            await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/link")
            message = {"from": "60198765430", "text": "hello"}
            await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/messages", message)
            await eventually(lambda: len(receiver.delivered()) >= 3, within_s=20, what="webhooks delivered")
            modes = await asyncio.to_thread(_modes, data)
        proc.send_signal(signal.SIGTERM)
        assert await wait_exit(proc, 20) == 0
    finally:
        stop(proc)
    assert any(name.endswith(".db") for name in modes), modes  # the stores did create their files
    assert any(name.startswith("sessions") for name in modes), modes
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert loose == {}
