"""The real neonize engine behind the real gateway, offline (this machine cannot reach WhatsApp)."""

from __future__ import annotations

import os
import signal

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, device_status, gateway, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"


async def test_offline_connect_is_a_clear_connection_error_and_the_worker_survives(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, WA_ENGINE="neonize")
    status, body = await api(client, "GET", "/health")
    assert body["data"]["engine"] == "neonize"
    listener = await WsListener.open(client)
    status, body = await api(client, "POST", "/devices", {"token": TOKEN})
    assert status == 200, body
    event = await listener.next("connection-error", TOKEN, within=30)
    assert event["message"].startswith("Connection failed:")
    assert "Cannot reach WhatsApp" in event["message"]
    assert await device_status(client, TOKEN) == "disconnected"
    _, body = await api(client, "GET", f"/devices/{TOKEN}")
    assert "Cannot reach WhatsApp" in body["data"]["lastError"]
    # The worker (with Go's runtime loaded) is still up and answering.
    _, body = await api(client, "GET", "/health/detailed")
    worker = body["data"]["worker"]
    assert worker["state"] == "up" and worker["restarts"] == 0

    os.kill(worker["pid"], signal.SIGKILL)

    async def restarted() -> bool:
        info = (await api(client, "GET", "/health/detailed"))[1]["data"]["worker"]
        return info["state"] == "up" and info["restarts"] == 1

    await wait_for(restarted, within=30, what="neonize worker restart")
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "x"})
    assert (status, body["error"]["code"]) == (409, "DEVICE_NOT_CONNECTED")
    await listener.close()
