"""A killed gateway loses no accepted event: kill -9 with webhooks pending, restart, all delivered."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from .conftest import API_KEY
from .processes import api_call as call
from .processes import start_gateway, stop, wait_healthy
from .webhooks.webhook_harness import MODE_500, MODE_OK, Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"


async def test_kill_9_with_pending_webhooks_then_restart_delivers_everything(
    tmp_path: Path, unused_tcp_port: int, aiohttp_server: AiohttpServer
) -> None:
    receiver = Receiver(default_mode=MODE_500)
    server = await aiohttp_server(receiver.app())
    port = unused_tcp_port
    env = {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        "WEBHOOK_URL": str(server.make_url("/hook")),
        "TYPING_DELAY_MS": "0",
        "RATE_LIMIT_DEVICES": "0",
    }
    first = start_gateway(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, first)
            await call(session, port, "POST", "/devices", {"token": TOKEN})
            await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/link")
            for i in range(5):
                message = {"from": f"6019876543{i}", "text": f"m{i}"}
                await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/messages", message)

            async def all_committed() -> bool:
                # device.connected, 5 x message.received and 5 x contacts.new
                return (await call(session, port, "GET", "/webhooks/stats"))["pending"] == 11

            await eventually(all_committed, within_s=20, what="eleven pending events")
            attempted = {r.id for r in receiver.requests}
            assert attempted, "the receiver saw at least the first attempts"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
    finally:
        stop(first)

    receiver.default_mode = MODE_OK
    second = start_gateway(env, tmp_path)
    try:
        await wait_healthy(port, second)
        # The eleven from before the crash, plus device.connected from restoring the device.
        await eventually(lambda: len(receiver.delivered()) >= 12, within_s=30, what="redelivery")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)
        stop(second)
    delivered = [r.payload for r in receiver.delivered()]
    ids = [p["id"] for p in delivered]
    assert len(set(ids)) == 12
    # Events attempted before the crash were delivered under the same id.
    assert attempted <= set(ids)
    events = [p["event"] for p in delivered]
    assert events.count("message.received") == 5 and events.count("contacts.new") == 5
    assert events.count("device.connected") == 2
    texts = [p["data"]["text"] for p in delivered if p["event"] == "message.received"]
    assert texts == [f"m{i}" for i in range(5)]
    assert second.returncode == 0
