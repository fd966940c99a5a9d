"""POST /devices that waited behind a DELETE starts from a clean state and is really pairing."""

from __future__ import annotations

import asyncio

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, gateway, link_device

pytestmark = pytest.mark.slow

TOKEN = "60123456789"


async def test_post_behind_delete_is_really_pairing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    for _ in range(3):
        await link_device(client, TOKEN, listener)
        # Started together, DELETE first: POST queues behind it on the device's lock.
        deleted, posted = await asyncio.gather(
            api(client, "DELETE", f"/devices/{TOKEN}"),
            api(client, "POST", "/devices", {"token": TOKEN, "method": "qr"}),
        )
        assert deleted[0] == 200, deleted
        assert posted[0] == 200, posted
        assert posted[1]["data"]["status"] == "pairing"
        status, body = await api(client, "GET", f"/devices/{TOKEN}")
        assert (status, body["data"]["status"]) == (200, "pairing"), body
        # A fresh QR flow is running for it.
        await listener.next("qrcode", TOKEN)
        await api(client, "DELETE", f"/devices/{TOKEN}")
    await listener.close()
