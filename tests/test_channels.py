"""Channels (newsletters) end to end: the real gateway, worker and a webhook receiver; the sandbox plays
WhatsApp's channels (docs/channels.md)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import api
from .messaging_harness import TOKEN, last_sent, linked_gateway
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow


def posts(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.payload["data"] for r in receiver.delivered() if r.payload["event"] == "newsletter.post"]


async def code_of(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = await api(client, method, path, body)
    return status, answer["error"]["code"] if status >= 400 else ""


async def test_follow_mute_post_and_unfollow(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    status, body = await api(
        client, "POST", f"/newsletters/{TOKEN}", {"name": "Shop news", "description": "Deals"}
    )
    assert status == 200 and body["message"] == "Channel created", body
    own = body["data"]
    assert (own["name"], own["description"], own["role"], own["subscribers"]) == (
        "Shop news",
        "Deals",
        "owner",
        1,
    )
    assert own["jid"].endswith("@newsletter")

    status, body = await api(client, "POST", "/sandbox/newsletters", {"name": "Daily"})
    assert status == 200, body
    daily, invite = body["data"]["jid"], body["data"]["invite"]
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}/{daily}")
    assert status == 200 and (body["data"]["role"], body["data"]["muted"]) == (None, False)
    status, body = await api(
        client, "POST", f"/newsletters/{TOKEN}/follow", {"invite": f"https://whatsapp.com/channel/{invite}"}
    )
    assert status == 200 and (body["data"]["jid"], body["data"]["role"]) == (daily, "subscriber")
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}")
    assert status == 200 and body["data"]["total"] == 2
    assert {n["jid"] for n in body["data"]["newsletters"]} == {own["jid"], daily}

    # Only a channel's owner and admins post in it.
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": own["jid"], "text": "Sale!"})
    assert status == 200, body
    assert (await last_sent(client))["to"] == own["jid"]
    to_daily = {"token": TOKEN, "to": daily, "text": "hi"}
    assert await code_of(client, "POST", "/messages", to_daily) == (403, "NOT_CHANNEL_ADMIN")
    unknown = {"token": TOKEN, "to": "120363999999999999@newsletter", "text": "hi"}
    assert await code_of(client, "POST", "/messages", unknown) == (404, "NEWSLETTER_NOT_FOUND")

    status, body = await api(client, "PATCH", f"/newsletters/{TOKEN}/{daily}", {"muted": True})
    assert status == 200 and body["data"] == {"jid": daily, "muted": True}
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}/{daily.removesuffix('@newsletter')}")
    assert body["data"]["muted"] is True

    status, body = await api(
        client, "POST", f"/sandbox/newsletters/{daily}/messages", {"text": "Today: rain"}
    )
    assert status == 200 and body["data"]["delivered"] == [TOKEN]
    await eventually(lambda: len(posts(receiver)) == 1, what="the channel post webhook")
    post = posts(receiver)[0]
    assert (post["jid"], post["text"], post["id"]) == (daily, "Today: rain", body["data"]["id"])
    document = await (await client.get("/openapi.json")).json()
    hook = document["webhooks"]["newsletter.post"]["post"]["requestBody"]["content"]["application/json"]
    jsonschema.validate(post, hook["schema"]["properties"]["data"])

    status, body = await api(client, "DELETE", f"/newsletters/{TOKEN}/{daily}")
    assert status == 200 and body["data"] == {"jid": daily, "following": False}
    assert await code_of(client, "DELETE", f"/newsletters/{TOKEN}/{daily}") == (404, "NEWSLETTER_NOT_FOUND")
    # The owner of a channel cannot unfollow it.
    assert await code_of(client, "DELETE", f"/newsletters/{TOKEN}/{own['jid']}") == (400, "INVALID_REQUEST")
    status, body = await api(client, "POST", f"/sandbox/newsletters/{daily}/messages", {"text": "Tomorrow"})
    assert status == 200 and body["data"]["delivered"] == []
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}")
    assert [n["jid"] for n in body["data"]["newsletters"]] == [own["jid"]]
    await linked.close()


async def test_bad_channel_requests_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    follow = f"/newsletters/{TOKEN}/follow"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", f"/newsletters/{TOKEN}", {"name": ""}, 400, "INVALID_NEWSLETTER"),
        ("POST", f"/newsletters/{TOKEN}", {"name": "x" * 101}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": "1@newsletter", "invite": "AbCdEf1234"}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": "1@g.us"}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": "120363999999999999@newsletter"}, 404, "NEWSLETTER_NOT_FOUND"),
        ("POST", follow, {"invite": "NoSuchInvite1"}, 404, "NEWSLETTER_NOT_FOUND"),
        ("GET", f"/newsletters/{TOKEN}/not-a-channel", None, 400, "INVALID_NEWSLETTER"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {}, 400, "INVALID_NEWSLETTER"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {"muted": "yes"}, 400, "INVALID_REQUEST"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {"muted": True}, 404, "NEWSLETTER_NOT_FOUND"),
        (
            "POST",
            "/sandbox/newsletters/120363999999999999/messages",
            {"text": "x"},
            404,
            "NEWSLETTER_NOT_FOUND",
        ),
        ("GET", "/newsletters/60155555555", None, 404, "DEVICE_NOT_FOUND"),
    ]
    for method, path, payload, status_expected, code in cases:
        assert await code_of(client, method, path, payload) == (status_expected, code), (
            method,
            path,
            payload,
        )
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}")
    assert status == 200 and body["data"] == {"newsletters": [], "total": 0}
    await linked.close()
