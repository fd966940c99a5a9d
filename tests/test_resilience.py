"""Restarts and crashes: a gateway restart restores devices; a killed or hung worker is survived."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway import keys
from wa_gateway.app import create_app
from wa_gateway.engine.failures import EngineUnavailable
from wa_gateway.worker.main import TEST_CMD_BLOCK_LOOP

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, device_status, gateway, link_device, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
UNPAIRED = "60111111111"


async def worker_info(client) -> dict:
    status, body = await api(client, "GET", "/health/detailed")
    assert status == 200
    return body["data"]["worker"]


async def test_restart_restores_linked_devices_only(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener, push_name="Bob")
    status, _ = await api(client, "POST", "/devices", {"token": UNPAIRED})
    assert status == 200
    await listener.close()
    await client.close()

    again = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    # The server listens at once; the paired device comes back by itself in the background.
    await wait_for(lambda: _status_is(again, TOKEN, "connected"), what="restored device")
    _, body = await api(again, "GET", f"/devices/{TOKEN}")
    assert body["data"]["pushName"] == "Bob"
    # A session that never paired is listed, but no surprise QR flow starts for it.
    assert await device_status(again, UNPAIRED) == "disconnected"
    status, body = await api(again, "GET", f"/devices/{UNPAIRED}/qr")
    assert status == 404
    status, body = await api(
        again, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "back"}
    )
    assert status == 200, body


async def _status_is(client, token: str, status: str) -> bool:
    return await device_status(client, token) == status


def _request_in_worker(client):
    async def check() -> bool:
        return (await worker_info(client))["pendingRequests"] >= 1

    return check


async def test_worker_killed_mid_send_is_survived(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=5000)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    before = await worker_info(client)
    send = asyncio.create_task(
        api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "hi"})
    )
    await wait_for(_request_in_worker(client), what="the send handed to the worker")
    started = time.monotonic()
    os.kill(before["pid"], signal.SIGKILL)
    status, body = await send
    # The in-flight request fails fast and honestly: the worker had it, so it may have been sent, and a
    # 409 would make the client send it again. It does not wait out the typing delay.
    assert (status, body["error"]["code"]) == (503, "SEND_OUTCOME_UNKNOWN")
    assert time.monotonic() - started < 4
    event = await listener.next("connection-error", TOKEN)
    assert event["message"] == "Disconnected"
    assert (await api(client, "GET", "/health"))[0] == 200
    await listener.next("connection-success", TOKEN, within=20)
    after = await worker_info(client)
    assert after["pid"] != before["pid"] and after["restarts"] == 1
    assert await device_status(client, TOKEN) == "connected"
    await listener.close()


async def test_hung_worker_is_killed_and_restarted(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    settings = make_settings(TYPING_DELAY_MS=0)
    app = create_app(settings, engine_options=FAST_ENGINE, worker_overrides={"test_hooks": True})
    client = await aiohttp_client(app)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    before = await worker_info(client)
    hang = asyncio.create_task(app[keys.ENGINE_KEY].request(TEST_CMD_BLOCK_LOOP, {"seconds": 60}, 120))
    # The API stays up while the worker is stuck, and a send never hangs past the heartbeat deadline.
    assert (await api(client, "GET", "/health"))[0] == 200
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "x"})
    # The stuck worker had the send in hand when it was killed: nobody can say whether it went out.
    assert (status, body["error"]["code"]) == (503, "SEND_OUTCOME_UNKNOWN"), body
    await listener.next("connection-success", TOKEN, within=20)
    after = await worker_info(client)
    assert after["pid"] != before["pid"] and after["restarts"] == 1
    with pytest.raises(EngineUnavailable):
        await hang
    await listener.close()
