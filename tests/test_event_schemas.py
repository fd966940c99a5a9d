"""Done when: a whole sandbox run (pair, send, receive, receipts, history sync, log out) produces webhook
bodies that validate against the ``webhooks`` of ``/openapi.json``, and WebSocket frames that validate
against their ``WsFrame.<event>`` schemas there (docs/events.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import WsListener, api, gateway, link_device
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
CODE_TOKEN = "60123456780"
PEER = "60198765432"
GROUP = "120363000000000001@g.us"


def check(schema: dict[str, Any], instance: Any, what: str) -> None:
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(instance)]
    assert not errors, (what, instance, errors)
    data_schema = schema["properties"].get("data", {})
    data = instance.get("data")
    items = data if data_schema.get("type") == "array" else [data]
    item_schema = data_schema.get("items", data_schema)
    if "properties" in item_schema:
        # Nothing undocumented either: every field a receiver gets is in the schema.
        for item in items:
            assert set(item) == set(item_schema["properties"]), (what, item)


async def test_every_webhook_and_frame_of_a_run_matches_the_published_schemas(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    client, _ = await gateway(
        aiohttp_client,
        make_settings,
        WEBHOOK_URL=str(server.make_url("/hook")),
        SANDBOX_RECONNECT_MS=10,
        # Long enough to link within the first codes on a loaded machine; the third device still waits
        # only two codes (1.5 s) for its expiry.
        SANDBOX_QR_REFRESH_MS=750,
        SANDBOX_QR_CODES=2,
    )
    everything = await WsListener.open(client, subscribe={"events": ["*"]})
    driver = await WsListener.open(client)

    # Pair by QR, and another device by code; a third lets its QR codes expire.
    await link_device(client, TOKEN, driver, push_name="Alice")
    status, body = await api(client, "POST", "/devices", {"token": CODE_TOKEN, "method": "code"})
    assert status == 200 and body["data"]["code"], body
    assert (await api(client, "POST", "/devices", {"token": "60123456781", "method": "qr"}))[0] == 200
    await driver.next("connection-error", "60123456781")

    # Send, and get receipts for it.
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "hi"})
    assert status == 200, body
    sent = body["data"]["messageId"]
    for kind in ("delivered", "read"):
        receipt = {"type": kind, "messageIds": [sent], "from": PEER}
        assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/receipts", receipt))[0] == 200

    # Receive: a message, a group message, a status post, a reaction, a call, a presence update.
    control = f"/sandbox/devices/{TOKEN}"
    status, body = await api(client, "POST", f"{control}/messages", {"from": PEER, "text": "hello"})
    assert status == 200, body
    theirs = body["data"]["id"]
    steps = [
        (f"{control}/messages", {"from": "60177777777", "text": "in a group", "chat": GROUP}),
        (f"{control}/messages", {"from": "60166666666", "text": "my day", "chat": "status@broadcast"}),
        (f"{control}/reactions", {"from": PEER, "targetId": sent, "emoji": "👍"}),
        (f"{control}/edits", {"from": PEER, "targetId": theirs, "text": "hello!"}),
        (f"{control}/revokes", {"from": PEER, "targetId": theirs}),
        (f"{control}/calls", {"from": PEER, "video": True}),
    ]
    for path, step in steps:
        status, body = await api(client, "POST", path, step)
        assert status == 200, (path, body)
    assert (await api(client, "POST", "/presence/subscribe", {"token": TOKEN, "to": PEER}))[0] == 200
    assert (await api(client, "POST", f"{control}/presence", {"from": PEER, "state": "available"}))[0] == 200
    # A post and a reaction in a channel the device follows (docs/channels.md).
    status, body = await api(client, "POST", "/sandbox/newsletters", {"name": "Daily"})
    assert status == 200, body
    channel = body["data"]["jid"]
    assert (await api(client, "POST", f"/newsletters/{TOKEN}/follow", {"jid": channel}))[0] == 200
    status, body = await api(client, "POST", f"/sandbox/newsletters/{channel}/messages", {"text": "news"})
    assert status == 200 and body["data"]["delivered"] == [TOKEN], body
    reaction = {"serverId": body["data"]["serverId"], "emoji": "🔥"}
    assert (await api(client, "POST", f"/sandbox/newsletters/{channel}/reactions", reaction))[0] == 200

    # Sync history, then drop the connection and log out.
    batch = {"contacts": [{"phone": "60100000001", "name": "A"}, {"phone": "60100000002", "name": ""}]}
    assert (await api(client, "POST", f"{control}/history-sync", batch))[0] == 200
    await api(client, "POST", f"{control}/disconnect")
    await driver.next("connection-success", TOKEN)
    await api(client, "POST", f"{control}/logout")
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not any(f["event"] == "device.logged_out" for f in frames):
            frames.append(await everything.events.get())

    expected = {
        "device.connected",
        "device.disconnected",
        "device.logged_out",
        "device.qr_expired",
        "message.received",
        "message.receipt",
        "message.reaction",
        "message.edited",
        "message.revoked",
        "status.received",
        "call.offer",
        "presence.update",
        "contacts.new",
        "contacts.sync",
    }

    def seen() -> set[str]:
        return {r.payload["event"] for r in receiver.delivered()}

    await eventually(lambda: expected <= seen(), what=f"webhooks of {sorted(expected)}")

    def in_channels() -> list[str]:
        datas = [(r.payload["event"], r.payload["data"]) for r in receiver.delivered()]
        return [event for event, data in datas if isinstance(data, dict) and data.get("isNewsletter")]

    await eventually(
        lambda: in_channels() == ["message.received", "message.reaction"],
        what="the channel's post and reaction",
    )
    document = await (await client.get("/openapi.json")).json()
    for request in receiver.delivered():
        event = request.payload["event"]
        schema = document["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]["schema"]
        check(schema, request.payload, f"webhook {event}")

    while not everything.events.empty():
        frames.append(everything.events.get_nowait())
    names = {f["event"] for f in frames}
    assert {"qrcode", "pairing-code", "connection-success", "connection-error"} <= names
    assert expected - {"device.logged_out"} <= names
    webhook_ids = {r.payload["id"] for r in receiver.delivered()}
    for frame in frames:
        schema = document["components"]["schemas"][f"WsFrame.{frame['event']}"]
        check(schema, frame, f"frame {frame['event']}")
        if "id" in frame:
            assert frame["id"] in webhook_ids, frame
    await everything.close()
    await driver.close()
