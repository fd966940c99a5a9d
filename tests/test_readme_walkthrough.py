"""The README's sandbox walkthrough, run as written against a real sandbox gateway and webhook receiver."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .processes import ROOT, gateway_env, start_gateway, stop, wait_exit, wait_healthy

KEY = "walkthrough-key-0123456789"
SECRET = "try-it-secret"


def walkthrough() -> tuple[str, str]:
    """The receiver (the ``python`` block) and the commands (every ``sh`` block, in order)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Try it with the sandbox\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", section, flags=re.S | re.M)
    (receiver,) = [body for lang, body in blocks if lang == "python"]
    commands = "\n".join(body for lang, body in blocks if lang == "sh")
    return receiver, commands


async def poll(check: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_receiver(cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "hook.py"],
            cwd=cwd,
            env=gateway_env({"HOOK_PORT": str(port), "WEBHOOK_SECRET": SECRET}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.slow
async def test_readme_walkthrough_runs_as_written(
    tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    receiver_code, commands = walkthrough()
    assert "make run" not in commands  # the gateway is started here, with the README's variables
    port, hook_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    (tmp_path / "hook.py").write_text(receiver_code)
    (tmp_path / ".env").write_text(f"API_KEY={KEY}\n")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    receiver_log = tmp_path / "hook.log"
    receiver = start_receiver(tmp_path, hook_port, receiver_log)
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        "WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/hook",
        "WEBHOOK_SECRET": SECRET,
    }
    gateway = start_gateway(env, tmp_path)
    try:
        await poll(lambda: listening(hook_port), "the receiver")
        await wait_healthy(port, gateway)
        result = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-euo", "pipefail", "-c", commands],
            cwd=tmp_path,
            env=gateway_env({"WA": f"http://127.0.0.1:{port}"}),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        out = result.stdout
        assert out.count('"success":true') == 14, out
        assert '"code":"' in out and '"isOnWhatsApp":false' in out
        assert "phone,name,source,first_seen,last_seen" in out and "60171112222,Ann,message" in out
        assert re.search(r'ws: \{"event": "qrcode", "token": "60144455566"', out), out
        assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
        await poll(lambda: "webhook: contacts.new" in receiver_log.read_text(), "signed webhooks")
        hooks = receiver_log.read_text()
        assert "webhook: message.received" in hooks and "webhook: device.connected" in hooks
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            assert await wait_exit(gateway, 20) == 0
        finally:
            stop(gateway)
            receiver.terminate()
            await asyncio.to_thread(receiver.wait, 10)
