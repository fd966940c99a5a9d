"""A linked sandbox device behind the real gateway, and the helpers the messaging tests share."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from wa_gateway.config import Settings

from .conftest import AUTH, SettingsFactory
from .harness import WsListener, api, gateway, link_device
from .webhooks.webhook_harness import Receiver

TOKEN = "60123456789"
PEER = "60198765432"
PEER_JID = f"{PEER}@s.whatsapp.net"
GROUP = "120363000000000001@g.us"


@dataclass
class Linked:
    client: TestClient
    settings: Settings
    listener: WsListener
    receiver: Receiver | None = None

    async def close(self) -> None:
        await self.listener.close()


async def linked_gateway(
    aiohttp_client: AiohttpClient,
    make_settings: SettingsFactory,
    aiohttp_server: AiohttpServer | None = None,
    **env: Any,
) -> Linked:
    """The gateway with ``TOKEN`` linked; with ``aiohttp_server``, webhooks go to a real receiver."""
    receiver = None
    if aiohttp_server is not None:
        receiver = Receiver()
        server = await aiohttp_server(receiver.app())
        env.setdefault("WEBHOOK_URL", str(server.make_url("/hook")))
    client, settings = await gateway(aiohttp_client, make_settings, **env)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    return Linked(client, settings, listener, receiver)


async def sent_log(client: TestClient, token: str = TOKEN) -> dict[str, Any]:
    status, body = await api(client, "GET", f"/sandbox/devices/{token}/sent")
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


async def last_sent(client: TestClient, token: str = TOKEN) -> dict[str, Any]:
    messages = (await sent_log(client, token))["messages"]
    assert messages, "nothing was sent"
    last: dict[str, Any] = messages[-1]
    return last


async def incoming(client: TestClient, body: dict[str, Any], token: str = TOKEN) -> str:
    """An incoming text message from the other side; returns its id."""
    status, reply = await api(client, "POST", f"/sandbox/devices/{token}/messages", {"from": PEER, **body})
    assert status == 200, reply
    message_id: str = reply["data"]["id"]
    return message_id


async def incoming_media(client: TestClient, data: bytes, token: str = TOKEN, **fields: Any) -> str:
    body = {"from": PEER, "base64": base64.b64encode(data).decode(), **fields}
    status, reply = await api(client, "POST", f"/sandbox/devices/{token}/media-messages", body)
    assert status == 200, reply
    message_id: str = reply["data"]["id"]
    return message_id


async def send_text(client: TestClient, **fields: Any) -> str:
    status, body = await api(
        client, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "hi", **fields}
    )
    assert status == 200, body
    message_id: str = body["data"]["messageId"]
    return message_id


async def post_form(client: TestClient, path: str, form: aiohttp.FormData) -> tuple[int, Any]:
    resp = await client.post(path, data=form, headers=AUTH)
    return resp.status, await resp.json()
