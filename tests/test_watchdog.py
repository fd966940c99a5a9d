"""The liveness watchdog end to end: a stalled sandbox session, seen by the real gateway and worker, comes
back by itself with a signed ``device.reconnecting`` webhook and WebSocket event."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from wa_gateway.app import create_app

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, device_status, link_device
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
ALICE = "60198765432"
# Fractions of a second so the test runs quickly; the variable itself takes whole seconds.
WATCHDOG_S = 0.3


async def test_a_stalled_session_is_reconnected_by_the_watchdog(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    settings = make_settings(
        WEBHOOK_URL=str(server.make_url("/hook")), SANDBOX_RECONNECT_MS=10, TYPING_DELAY_MS=0
    )
    app = create_app(settings, engine_options=FAST_ENGINE, worker_overrides={"watchdog_s": WATCHDOG_S})
    client = await aiohttp_client(app)
    listener = await WsListener.open(client, subscribe={"events": ["*"]})
    await link_device(client, TOKEN, listener)

    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/stall")
    assert status == 200, body
    assert await device_status(client, TOKEN) == "connected"  # as a dead session looks
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "hi?"})
    assert status >= 500, body

    event = await listener.next("device.reconnecting", TOKEN)
    assert event["data"]["reason"].startswith("No answer from WhatsApp")
    await listener.next("connection-success", TOKEN)
    assert await device_status(client, TOKEN) == "connected"
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "back"})
    assert status == 200, body

    def names() -> list[str]:
        return [r.payload["event"] for r in receiver.delivered() if r.payload["token"] == TOKEN]

    await eventually(lambda: names().count("device.connected") == 2, what="the second device.connected")
    assert names() == ["device.connected", "device.reconnecting", "device.connected"]


async def test_stall_needs_a_connected_device(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(), engine_options=FAST_ENGINE))
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/stall")
    assert status == 404 and body["error"]["code"] == "DEVICE_NOT_FOUND", body
