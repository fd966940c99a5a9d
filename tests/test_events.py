"""Events end to end: sandbox engine -> gateway -> signed webhooks to a real receiver, WS, contacts."""

from __future__ import annotations

import asyncio
import base64
import io
import time

import orjson
import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer
from standardwebhooks import Webhook

from .conftest import API_KEY, SettingsFactory
from .harness import WsListener, api, gateway, link_device
from .webhooks.webhook_harness import MODE_500, Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
SENDER = "60198765432"
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


async def events_gateway(aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings, **env):
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    client, _settings = await gateway(
        aiohttp_client,
        make_settings,
        WEBHOOK_URL=str(server.make_url("/hook")),
        WEBHOOK_SECRET=SECRET,
        **env,
    )
    return client, receiver


def events_of(receiver: Receiver, name: str, token: str = TOKEN) -> list[dict]:
    return [
        r.payload for r in receiver.delivered() if r.payload["event"] == name and r.payload["token"] == token
    ]


async def test_device_lifecycle_webhooks_are_signed_and_ordered(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(
        aiohttp_client, aiohttp_server, make_settings, SANDBOX_RECONNECT_MS=10
    )
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener, push_name="Alice")
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/disconnect")
    await listener.next("connection-error", TOKEN)
    await listener.next("connection-success", TOKEN)
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/logout")
    assert (await listener.next("connection-error", TOKEN))["message"] == "Logged out"
    expected = ["device.connected", "device.disconnected", "device.connected", "device.logged_out"]
    await eventually(lambda: len(receiver.delivered()) >= 4, what="four device webhooks")
    payloads = [r.payload for r in receiver.delivered()]
    assert [p["event"] for p in payloads] == expected
    assert payloads[0]["data"] == {"jid": f"{TOKEN}@s.whatsapp.net", "pushName": "Alice"}
    assert payloads[1]["data"]["reason"]
    for request in receiver.delivered():
        headers = {k.lower(): v for k, v in request.headers.items()}
        # Standard Webhooks' own verifier accepts our signature over the exact bytes we sent.
        assert Webhook(SECRET).verify(request.body, headers) == request.payload
        assert headers["webhook-id"] == request.payload["id"]
        assert headers["x-webhook-signature"].startswith("sha256=")
        assert headers["user-agent"].startswith("wa-gateway/")
        assert set(request.payload) == {"id", "event", "token", "data", "timestamp"}
    await listener.close()


async def test_qr_expiry_is_a_webhook(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(
        aiohttp_client, aiohttp_server, make_settings, SANDBOX_QR_REFRESH_MS=20, SANDBOX_QR_CODES=2
    )
    await api(client, "POST", "/devices", {"token": TOKEN})
    await eventually(lambda: events_of(receiver, "device.qr_expired"), what="device.qr_expired")


async def test_incoming_messages_contacts_and_auto_read(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(
        aiohttp_client, aiohttp_server, make_settings, AUTO_READ_RECEIPT="true"
    )
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    subscriber = await WsListener.open(client, subscribe={"events": ["message.received", "contacts.new"]})
    for text in ("first", "second"):
        status, body = await api(
            client,
            "POST",
            f"/sandbox/devices/{TOKEN}/messages",
            {"from": SENDER, "text": text, "pushName": "=Mallory"},
        )
        assert status == 200, body
    group = {"from": "60177777777", "text": "in a group", "chat": "120363000000000000@g.us"}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/messages", group))[0] == 200
    status_post = {"from": "60166666666", "text": "my day", "chat": "status@broadcast"}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/messages", status_post))[0] == 200

    await eventually(lambda: len(events_of(receiver, "message.received")) == 3, what="three messages")
    # A contact's status post is its own event, not a message (docs/status.md).
    await eventually(lambda: events_of(receiver, "status.received"), what="the status post")
    received = events_of(receiver, "message.received")
    first = received[0]["data"]
    assert first["from"] == f"{SENDER}@s.whatsapp.net" and first["text"] == "first"
    assert first["pushName"] == "=Mallory" and first["type"] == "text" and first["isGroup"] is False
    assert received[2]["data"]["isGroup"] is True
    # A contact is new only the first time it is seen; group participants are not contacts.
    await eventually(lambda: events_of(receiver, "contacts.new"), what="contacts.new")
    assert [e["data"] for e in events_of(receiver, "contacts.new")] == [{"name": "=Mallory", "phone": SENDER}]
    ws_event = await subscriber.next("message.received", TOKEN)
    assert ws_event["id"] == received[0]["id"] and ws_event["data"] == first

    status, body = await api(client, "GET", f"/contacts/{TOKEN}")
    assert status == 200
    assert [c["phone"] for c in body["data"]["contacts"]] == [SENDER]
    csv = await client.get(f"/contacts/{TOKEN}?format=csv", headers={"X-API-Key": API_KEY})
    text = await csv.text()
    # The attacker-controlled push name cannot become a spreadsheet formula.
    assert f"{SENDER},'=Mallory,message" in text

    async def read_ids() -> list[str]:
        return (await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent"))[1]["data"]["read"]

    # A status post is never marked read: that would tell its author we looked.
    ids = {e["data"]["id"] for e in received}
    assert len(ids) == 3
    status_ids = {e["data"].get("id") for e in events_of(receiver, "status.received")}
    assert status_ids and not status_ids & ids

    async def all_read() -> bool:
        return set(await read_ids()) == ids

    await eventually(all_read, what="auto read receipts")
    assert set(await read_ids()) == ids
    assert not status_ids & set(await read_ids())
    await listener.close()
    await subscriber.close()


async def test_receipts_are_normalised(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(aiohttp_client, aiohttp_server, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    _, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": SENDER, "text": "hi"})
    message_id = body["data"]["messageId"]
    for kind in ("delivered", "read"):
        receipt = {"type": kind, "messageIds": [message_id], "from": SENDER}
        assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/receipts", receipt))[0] == 200
    status, body = await api(
        client,
        "POST",
        f"/sandbox/devices/{TOKEN}/receipts",
        {"type": "sender", "messageIds": ["x"], "from": SENDER},
    )
    assert status == 400 and body["error"]["code"] == "INVALID_REQUEST"
    await eventually(lambda: len(events_of(receiver, "message.receipt")) == 2, what="two receipts")
    receipts = [e["data"] for e in events_of(receiver, "message.receipt")]
    assert [r["type"] for r in receipts] == ["delivered", "read"]
    assert receipts[0]["messageIds"] == [message_id]
    assert receipts[0]["from"] == f"{SENDER}@s.whatsapp.net"
    assert receipts[0]["timestamp"].endswith("Z")
    await listener.close()


async def test_history_sync_reports_only_new_contacts(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(aiohttp_client, aiohttp_server, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    batch1 = {"contacts": [{"phone": "60100000001", "name": "A"}, {"phone": "60100000002", "name": "B"}]}
    batch2 = {
        "contacts": [
            {"phone": "60100000002", "name": "B2"},
            {"phone": "60100000003", "name": ""},
            {"phone": TOKEN, "name": "me"},
        ]
    }
    for batch in (batch1, batch2):
        assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/history-sync", batch))[0] == 200
    await eventually(lambda: len(events_of(receiver, "contacts.sync")) == 2, what="two contacts.sync")
    syncs = [e["data"] for e in events_of(receiver, "contacts.sync")]
    assert syncs[0] == [{"name": "A", "phone": "60100000001"}, {"name": "B", "phone": "60100000002"}]
    assert syncs[1] == [{"name": "", "phone": "60100000003"}]
    _, body = await api(client, "GET", f"/contacts/{TOKEN}")
    names = {c["phone"]: c["name"] for c in body["data"]["contacts"]}
    assert names == {"60100000001": "A", "60100000002": "B2", "60100000003": ""}
    await listener.close()


async def test_big_history_sync_keeps_the_api_responsive(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(aiohttp_client, aiohttp_server, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    contacts = [{"phone": f"601{i:08d}", "name": f"Contact {i}"} for i in range(50_000)]
    body = io.BytesIO(orjson.dumps({"contacts": contacts}))  # a large bytes body warns in aiohttp's client
    sync = asyncio.create_task(
        client.post(
            f"/sandbox/devices/{TOKEN}/history-sync",
            data=body,
            headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        )
    )
    worst = 0.0
    deadline = time.monotonic() + 45

    def synced() -> int:
        return sum(len(e["data"]) for e in events_of(receiver, "contacts.sync"))

    while synced() < 50_000:
        started = time.monotonic()
        assert (await api(client, "GET", "/health"))[0] == 200
        worst = max(worst, time.monotonic() - started)
        assert started < deadline, f"only {synced()} contacts synced"
        await asyncio.sleep(0.01)  # polling with a deadline until the sync is delivered: a positive condition
    assert (await sync).status == 200
    # Sent in slices a receiver's body limit can take, in order.
    slices = [e["data"] for e in events_of(receiver, "contacts.sync")]
    assert max(len(s) for s in slices) == 1000
    assert [c["phone"] for s in slices for c in s] == [c["phone"] for c in contacts]
    assert worst < 1.0, f"/health took {worst:.3f} s during the sync"
    _, body = await api(client, "GET", f"/contacts/{TOKEN}?limit=1")
    assert body["data"]["total"] == 50_000
    await listener.close()


async def test_receiver_errors_lose_nothing_and_keep_order(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, receiver = await events_gateway(aiohttp_client, aiohttp_server, make_settings)
    receiver.default_mode = MODE_500
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    for i in range(5):
        await api(client, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": SENDER, "text": f"m{i}"})
    _status, _body = await api(client, "GET", "/webhooks/stats")

    async def all_pending() -> bool:
        stats = (await api(client, "GET", "/webhooks/stats"))[1]["data"]
        return stats["pending"] >= 7

    await eventually(all_pending, what="events pending while the receiver fails")
    receiver.default_mode = "ok"
    # Retries are scheduled with backoff; the operator can also see them in /webhooks/stats.
    await eventually(lambda: len(events_of(receiver, "message.received")) == 5, within_s=30, what="delivery")
    texts = [e["data"]["text"] for e in events_of(receiver, "message.received")]
    assert texts == [f"m{i}" for i in range(5)]
    attempted = {r.id for r in receiver.requests}
    assert {r.id for r in receiver.delivered()} == attempted
    assert orjson.loads(receiver.delivered()[0].body)["event"] == "device.connected"
    await listener.close()
