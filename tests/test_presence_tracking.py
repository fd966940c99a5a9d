"""Presence tracking end to end: POST /presence/subscribe, presence.update webhooks and WebSocket frames,
GET /presence/{token}/{phone}; the sandbox plays the contact."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import WsListener, api, link_device
from .messaging_harness import GROUP, PEER, PEER_JID, TOKEN, linked_gateway
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

CONTROL = f"/sandbox/devices/{TOKEN}/presence"


def updates(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.payload["data"] for r in receiver.delivered() if r.payload["event"] == "presence.update"]


async def test_a_subscribed_contact_presence_reaches_webhooks_websockets_and_the_last_known_route(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    subscriber = await WsListener.open(client, subscribe={"events": ["presence.update"]})

    status, body = await api(client, "GET", f"/presence/{TOKEN}/{PEER}")
    assert (status, body["error"]["code"]) == (404, "PRESENCE_UNKNOWN")
    # Not subscribed yet: WhatsApp sends nobody's online/offline.
    status, body = await api(client, "POST", CONTROL, {"from": PEER, "state": "available"})
    assert status == 200 and body["data"] == {"delivered": False}, body

    status, body = await api(client, "POST", "/presence/subscribe", {"token": TOKEN, "to": PEER})
    assert status == 200 and body["message"] == "Subscribed to presence", body
    assert body["data"] == {"to": PEER_JID, "subscribed": True}
    steps = [
        {"from": PEER, "state": "available"},
        {"from": PEER, "state": "composing"},
        {"from": PEER, "state": "recording", "chat": GROUP},
        {"from": PEER, "state": "unavailable", "lastSeen": "2026-01-31T12:00:00Z"},
    ]
    for step in steps:
        status, body = await api(client, "POST", CONTROL, step)
        assert status == 200 and body["data"] == {"delivered": True}, (step, body)

    await eventually(lambda: len(updates(receiver)) == 4, what="four presence webhooks")
    seen = updates(receiver)
    assert [(u["state"], u["chat"], u["lastSeen"]) for u in seen] == [
        ("available", None, None),
        ("composing", PEER_JID, None),
        ("recording", GROUP, None),
        ("unavailable", None, "2026-01-31T12:00:00Z"),
    ]
    assert all(u["from"] == PEER_JID and u["timestamp"].endswith("Z") for u in seen)
    frames = [await subscriber.next("presence.update", TOKEN) for _ in steps]
    webhook_ids = [r.payload["id"] for r in receiver.delivered() if r.payload["event"] == "presence.update"]
    assert [f["id"] for f in frames] == webhook_ids
    assert frames[0]["data"] == seen[0]

    status, body = await api(client, "GET", f"/presence/{TOKEN}/{PEER}")
    assert status == 200 and body["message"] == "Presence retrieved", body
    assert (body["data"]["state"], body["data"]["lastSeen"]) == ("unavailable", "2026-01-31T12:00:00Z")
    # Back online: the last seen time stays known.
    status, _ = await api(client, "POST", CONTROL, {"from": PEER, "state": "available"})
    assert status == 200
    await eventually(lambda: len(updates(receiver)) == 5, what="the fifth presence webhook")
    status, body = await api(client, "GET", f"/presence/{TOKEN}/{PEER_JID}")
    assert (body["data"]["state"], body["data"]["lastSeen"]) == ("available", "2026-01-31T12:00:00Z")
    await subscriber.close()
    await linked.close()


async def test_typing_arrives_without_a_subscription_and_a_dropped_connection_ends_subscriptions(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, SANDBOX_RECONNECT_MS=10)
    client = linked.client
    watcher = await WsListener.open(client, subscribe={"events": ["presence.update"]})
    status, body = await api(client, "POST", CONTROL, {"from": PEER, "state": "paused"})
    assert status == 200 and body["data"] == {"delivered": True}, body
    event = await watcher.next("presence.update", TOKEN)
    assert (event["data"]["state"], event["data"]["chat"]) == ("paused", PEER_JID)

    status, _ = await api(client, "POST", "/presence/subscribe", {"token": TOKEN, "to": PEER})
    assert status == 200
    status, _ = await api(client, "POST", f"/sandbox/devices/{TOKEN}/disconnect")
    assert status == 200
    await linked.listener.next("connection-error", TOKEN)
    await linked.listener.next("connection-success", TOKEN)
    status, body = await api(client, "POST", CONTROL, {"from": PEER, "state": "available"})
    assert status == 200 and body["data"] == {"delivered": False}, body
    await watcher.close()
    await linked.close()


async def test_bad_input_is_refused_and_changes_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    watcher = await WsListener.open(client, subscribe={"events": ["presence.update"]})
    cases = [
        ({"to": PEER}, 400, "MISSING_TOKEN"),
        ({"token": "abc", "to": PEER}, 400, "INVALID_TOKEN"),
        ({"token": TOKEN}, 400, "INVALID_PHONE"),
        ({"token": TOKEN, "to": "12"}, 400, "INVALID_PHONE"),
        ({"token": TOKEN, "to": GROUP}, 400, "INVALID_PHONE"),
        ({"token": TOKEN, "to": 60198765432}, 400, "INVALID_REQUEST"),
        ({"token": "60100000000", "to": PEER}, 404, "DEVICE_NOT_FOUND"),
    ]
    for body_in, status_out, code in cases:
        status, body = await api(client, "POST", "/presence/subscribe", body_in)
        assert (status, body["success"], body["error"]["code"]) == (status_out, False, code), (body_in, body)
    status, body = await api(client, "GET", f"/presence/{TOKEN}/{GROUP}")
    assert (status, body["error"]["code"]) == (400, "INVALID_PHONE")
    status, body = await api(client, "GET", f"/presence/60100000000/{PEER}")
    assert (status, body["error"]["code"]) == (404, "DEVICE_NOT_FOUND")

    bad_controls = [
        {"from": PEER, "state": "asleep"},
        {"from": PEER, "state": "available", "chat": PEER},
        {"from": PEER, "state": "composing", "lastSeen": "2026-01-31T12:00:00Z"},
        {"from": PEER, "state": "unavailable", "lastSeen": "yesterday"},
        {"from": PEER, "state": "unavailable", "lastSeen": "2026-01-31T12:00:00"},
    ]
    for body_in in bad_controls:
        status, body = await api(client, "POST", CONTROL, body_in)
        assert (status, body["error"]["code"]) == (400, "INVALID_REQUEST"), (body_in, body)
    # Control routes read numbers as the API does, so a bad sender is the API's error.
    status, body = await api(client, "POST", CONTROL, {"from": "x", "state": "available"})
    assert (status, body["error"]["code"]) == (400, "INVALID_PHONE"), body
    # None of them produced an event: the next one the WebSocket sees is this one.
    status, _ = await api(client, "POST", CONTROL, {"from": PEER, "state": "composing"})
    assert status == 200
    event = await watcher.next("presence.update", TOKEN)
    assert event["data"]["state"] == "composing"
    status, body = await api(client, "GET", f"/presence/{TOKEN}/{PEER}")
    assert status == 200 and body["data"]["state"] == "composing"
    await watcher.close()
    await linked.close()


async def test_subscribing_needs_a_connected_device_and_is_rate_limited(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, RATE_LIMIT_MESSAGES=2)
    client = linked.client
    for _ in range(2):
        status, _ = await api(client, "POST", "/presence/subscribe", {"token": TOKEN, "to": PEER})
        assert status == 200
    status, body = await api(client, "POST", "/presence/subscribe", {"token": TOKEN, "to": PEER})
    assert (status, body["error"]["code"]) == (429, "RATE_LIMITED")
    await linked.close()


async def test_deleting_the_device_forgets_what_it_saw(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    watcher = await WsListener.open(client, subscribe={"events": ["presence.update"]})
    status, _ = await api(client, "POST", CONTROL, {"from": PEER, "state": "composing"})
    assert status == 200
    await watcher.next("presence.update", TOKEN)
    status, _ = await api(client, "GET", f"/presence/{TOKEN}/{PEER}")
    assert status == 200
    status, _ = await api(client, "DELETE", f"/devices/{TOKEN}")
    assert status == 200
    await linked.listener.next("connection-error", TOKEN)
    await link_device(client, TOKEN, linked.listener)
    status, body = await api(client, "GET", f"/presence/{TOKEN}/{PEER}")
    assert (status, body["error"]["code"]) == (404, "PRESENCE_UNKNOWN")
    await watcher.close()
    await linked.close()
