"""Status posts end to end: POST /status and /status/media land on status@broadcast, contacts' posts arrive
as status.received (never message.received, never read automatically)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import WsListener, api, wait_for
from .media_samples import PDF, png, sha256
from .messaging_harness import PEER, PEER_JID, TOKEN, incoming, last_sent, linked_gateway, sent_log
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

STATUS = "status@broadcast"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def events(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [r.payload for r in receiver.delivered() if r.payload["event"] == name]


async def test_text_and_image_statuses_are_posted_to_status_broadcast(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=50)
    client = linked.client
    body_in = {"token": TOKEN, "text": "Open today 9-5", "backgroundColor": "#25D366", "font": 2}
    status, body = await api(client, "POST", "/status", body_in)
    assert status == 200 and body["message"] == "Status posted", body
    sent = await last_sent(client)
    assert (sent["id"], sent["to"], sent["text"], sent["kind"]) == (
        body["data"]["messageId"],
        STATUS,
        "Open today 9-5",
        "status",
    )
    assert (sent["backgroundArgb"], sent["font"]) == (0xFF25D366, 2)
    assert sent["presence"] == []  # nobody sees a status being typed, whatever TYPING_DELAY_MS says

    data = png(4, 4)
    status, body = await api(
        client,
        "POST",
        "/status/media",
        {"token": TOKEN, "type": "image", "base64": b64(data), "caption": "new"},
    )
    assert status == 200 and body["message"] == "Status posted", body
    assert (body["data"]["type"], body["data"]["mimetype"]) == ("image", "image/png")
    sent = await last_sent(client)
    assert (sent["to"], sent["kind"], sent["caption"], sent["sha256"]) == (
        STATUS,
        "image",
        "new",
        sha256(data),
    )
    await linked.close()


async def test_bad_status_requests_are_refused_and_send_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    quoted = await incoming(client, {"text": "hi"})
    cases = [
        ("/status", {"text": "x"}, 400, "MISSING_TOKEN"),
        ("/status", {"token": TOKEN, "text": " "}, 400, "INVALID_MESSAGE"),
        ("/status", {"token": TOKEN, "text": "x", "backgroundColor": "green"}, 400, "INVALID_STATUS"),
        ("/status", {"token": TOKEN, "text": "x", "backgroundColor": "#12345"}, 400, "INVALID_STATUS"),
        ("/status", {"token": TOKEN, "text": "x", "font": 3}, 400, "INVALID_STATUS"),
        ("/status", {"token": TOKEN, "text": "x", "font": "2"}, 400, "INVALID_REQUEST"),
        ("/status", {"token": "60100000000", "text": "x"}, 404, "DEVICE_NOT_FOUND"),
        (
            "/status/media",
            {"token": TOKEN, "type": "document", "base64": b64(PDF)},
            400,
            "INVALID_MEDIA_TYPE",
        ),
        (
            "/status/media",
            {"token": TOKEN, "type": "image", "base64": b64(png()), "replyTo": quoted},
            400,
            "INVALID_STATUS",
        ),
        ("/status/media", {"token": TOKEN, "type": "image"}, 400, "INVALID_MEDIA"),
    ]
    for path, body_in, status_out, code in cases:
        status, body = await api(client, "POST", path, body_in)
        assert (status, body["error"]["code"]) == (status_out, code), (path, body_in, body)
    assert (await sent_log(client))["messages"] == []
    await linked.close()


async def test_a_contact_status_is_status_received_and_not_a_message(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server, AUTO_READ_RECEIPT="true")
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    watcher = await WsListener.open(client, subscribe={"events": ["status.received", "message.received"]})
    status, body = await api(
        client, "POST", f"/sandbox/devices/{TOKEN}/status", {"from": PEER, "text": "At the beach"}
    )
    assert status == 200 and body["message"] == "Status delivered to the device", body
    status_id = body["data"]["id"]
    # A message afterwards: once it is out, the status before it was handled.
    await incoming(client, {"text": "did you see my status?"})
    await eventually(lambda: len(events(receiver, "message.received")) == 1, what="the message webhook")
    (posted,) = [e["data"] for e in events(receiver, "status.received")]
    assert (posted["id"], posted["from"], posted["text"], posted["type"]) == (
        status_id,
        PEER_JID,
        "At the beach",
        "text",
    )
    assert posted["timestamp"].endswith("Z") and posted["media"] is None
    (message,) = [e["data"] for e in events(receiver, "message.received")]
    assert message["text"] == "did you see my status?"
    frame = await watcher.next("status.received", TOKEN)
    assert frame["data"] == posted

    # Only the message was read automatically; viewing a status would tell the contact.
    async def read_ids() -> str:
        read = str((await sent_log(client))["read"])
        return read if message["id"] in read else ""

    assert status_id not in await wait_for(read_ids, what="the automatic read receipt")

    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/status", {"from": PEER})
    assert (status, body["error"]["code"]) == (400, "INVALID_REQUEST")
    await watcher.close()
    await linked.close()
