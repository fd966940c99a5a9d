"""Channels (newsletters) end to end: the real gateway, worker and a webhook receiver; the sandbox plays
WhatsApp's channels (docs/channels.md)."""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import AUTH, SettingsFactory
from .harness import api, link_device
from .media_samples import png, sha256
from .messaging_harness import PEER, TOKEN, incoming, last_sent, linked_gateway, sent_log
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

FOLLOWER = "60111222333"
UNKNOWN = "120363999999999999@newsletter"


def events(receiver: Receiver, name: str, token: str = TOKEN) -> list[dict[str, Any]]:
    return [
        r.payload["data"]
        for r in receiver.delivered()
        if r.payload["event"] == name and r.payload["token"] == token
    ]


async def code_of(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = await api(client, method, path, body)
    return status, answer["error"]["code"] if status >= 400 else ""


async def data_schema(client: TestClient, event: str) -> dict[str, Any]:
    document = await (await client.get("/openapi.json")).json()
    hook = document["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]
    schema: dict[str, Any] = hook["schema"]["properties"]["data"]
    return schema


async def test_follow_receive_posts_and_reactions_mute_and_unfollow(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server, AUTO_READ_RECEIPT="true")
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
    link = {"invite": f"https://whatsapp.com/channel/{invite}"}
    status, body = await api(client, "POST", f"/newsletters/{TOKEN}/follow", link)
    assert status == 200 and (body["data"]["jid"], body["data"]["role"]) == (daily, "subscriber")
    # Following twice is refused, by the link or by the channel's id.
    assert await code_of(client, "POST", f"/newsletters/{TOKEN}/follow", link) == (409, "ALREADY_MEMBER")
    by_jid = {"jid": daily}
    assert await code_of(client, "POST", f"/newsletters/{TOKEN}/follow", by_jid) == (409, "ALREADY_MEMBER")
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}")
    assert status == 200 and body["data"]["total"] == 2
    assert {n["jid"] for n in body["data"]["newsletters"]} == {own["jid"], daily}

    # Only a channel's owner and admins post in it.
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": own["jid"], "text": "Sale!"})
    assert status == 200, body
    assert (await last_sent(client))["to"] == own["jid"]
    to_daily = {"token": TOKEN, "to": daily, "text": "hi"}
    assert await code_of(client, "POST", "/messages", to_daily) == (403, "NOT_CHANNEL_ADMIN")
    unknown = {"token": TOKEN, "to": UNKNOWN, "text": "hi"}
    assert await code_of(client, "POST", "/messages", unknown) == (404, "NEWSLETTER_NOT_FOUND")

    status, body = await api(client, "PATCH", f"/newsletters/{TOKEN}/{daily}", {"muted": True})
    assert status == 200 and body["data"] == {"jid": daily, "muted": True}
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}/{daily.removesuffix('@newsletter')}")
    assert body["data"]["muted"] is True

    # A post arrives as message.received with isNewsletter, from the channel itself.
    status, body = await api(
        client, "POST", f"/sandbox/newsletters/{daily}/messages", {"text": "Today: rain"}
    )
    assert status == 200 and body["data"]["delivered"] == [TOKEN], body
    post_id, server_id = body["data"]["id"], body["data"]["serverId"]
    await eventually(lambda: len(events(receiver, "message.received")) == 1, what="the channel post")
    post = events(receiver, "message.received")[0]
    assert (post["id"], post["from"], post["chat"], post["text"]) == (post_id, daily, daily, "Today: rain")
    assert (post["isNewsletter"], post["isGroup"], post["type"]) == (True, False, "text")
    jsonschema.validate(post, await data_schema(client, "message.received"))

    reaction = {"serverId": server_id, "emoji": "👍"}
    status, body = await api(client, "POST", f"/sandbox/newsletters/{daily}/reactions", reaction)
    assert status == 200 and body["data"]["delivered"] == [TOKEN], body
    await eventually(lambda: len(events(receiver, "message.reaction")) == 1, what="the channel reaction")
    reacted = events(receiver, "message.reaction")[0]
    assert (reacted["targetId"], reacted["emoji"], reacted["chat"]) == (post_id, "👍", daily)
    assert reacted["isNewsletter"] is True
    jsonschema.validate(reacted, await data_schema(client, "message.reaction"))

    # Someone writes: that message is read automatically and its sender becomes a contact; once both
    # happened, the channel post had its turn long before, and was neither.
    their_id = await incoming(client, {"text": "hello", "pushName": "Ann"})
    await eventually(lambda: len(events(receiver, "contacts.new")) == 1, what="the new contact")
    log = await sent_log(client)
    assert their_id in log["read"] and post_id not in log["read"]
    assert events(receiver, "contacts.new")[0]["phone"] == PEER
    status, body = await api(client, "GET", f"/contacts/{TOKEN}")
    assert [c["phone"] for c in body["data"]["contacts"]] == [PEER], body
    assert not events(receiver, "newsletter.post")

    status, body = await api(client, "GET", f"/newsletters/{TOKEN}/{daily}/messages")
    assert status == 200 and body["data"]["nextCursor"] is None, body
    (listed,) = body["data"]["messages"]
    assert (listed["id"], listed["serverId"], listed["text"], listed["views"]) == (
        post_id,
        server_id,
        "Today: rain",
        1,
    )
    assert listed["reactions"] == [{"emoji": "👍", "count": 1}]

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


async def test_the_owner_posts_text_and_media_its_followers_receive_and_page_through(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    await link_device(client, FOLLOWER, linked.listener)
    status, body = await api(client, "POST", f"/newsletters/{TOKEN}", {"name": "Shop news"})
    assert status == 200, body
    shop = body["data"]["jid"]
    status, body = await api(client, "POST", f"/newsletters/{FOLLOWER}/follow", {"jid": shop})
    assert status == 200 and body["data"]["role"] == "subscriber", body

    texts = ["one", "two", "three"]
    for text in texts:
        status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": shop, "text": text})
        assert status == 200, body
    image = png(4, 4)
    media = {"token": TOKEN, "to": shop, "type": "image", "caption": "new stock"}
    media["base64"] = base64.b64encode(image).decode()
    status, body = await api(client, "POST", "/messages/media", media)
    assert status == 200 and body["data"]["type"] == "image", body
    image_id = body["data"]["messageId"]
    sent = await last_sent(client)
    assert (sent["to"], sent["kind"], sent["caption"], sent["sha256"]) == (
        shop,
        "image",
        "new stock",
        sha256(image),
    )
    # A post has no typing indicator: nobody sees anyone typing in a channel.
    assert all(not m["presence"] for m in (await sent_log(client))["messages"])

    # The follower receives each post; the owner, who sent them, receives none.
    await eventually(lambda: len(events(receiver, "message.received", FOLLOWER)) == 4, what="four posts")
    received = events(receiver, "message.received", FOLLOWER)
    assert [p["text"] for p in received] == [*texts, "new stock"]
    assert all(p["isNewsletter"] and p["chat"] == shop and p["from"] == shop for p in received)
    assert (received[-1]["id"], received[-1]["type"], received[-1]["media"]["mimetype"]) == (
        image_id,
        "image",
        "image/png",
    )
    assert events(receiver, "message.received", TOKEN) == []
    # The follower downloads the posted picture like any media it received.
    resp = await client.get(f"/messages/{FOLLOWER}/{image_id}/media", headers=AUTH)
    assert resp.status == 200 and await resp.read() == image

    # Newest first, two a page, then the rest; each post counts the follower's view.
    path = f"/newsletters/{FOLLOWER}/{shop}/messages"
    status, body = await api(client, "GET", f"{path}?limit=2")
    assert status == 200, body
    first = body["data"]
    assert [p["text"] for p in first["messages"]] == ["new stock", "three"]
    assert first["messages"][0]["media"]["mimetype"] == "image/png"
    assert first["messages"][0]["caption"] == "new stock" and first["messages"][1]["caption"] is None
    assert first["nextCursor"] == first["messages"][-1]["serverId"]
    status, body = await api(client, "GET", f"{path}?limit=2&before={first['nextCursor']}")
    assert [p["text"] for p in body["data"]["messages"]] == ["two", "one"]
    assert body["data"]["nextCursor"] is None
    assert all(p["views"] == 1 and p["timestamp"] for p in body["data"]["messages"])
    status, body = await api(client, "GET", f"/newsletters/{TOKEN}/{shop}/messages?limit=10")
    assert [p["text"] for p in body["data"]["messages"]] == ["new stock", "three", "two", "one"]

    # A follower may not post: neither text nor media reaches the channel or the sent log.
    before = await sent_log(client, FOLLOWER)
    not_admin = {"token": FOLLOWER, "to": shop, "text": "spam"}
    assert await code_of(client, "POST", "/messages", not_admin) == (403, "NOT_CHANNEL_ADMIN")
    not_admin_media = {**media, "token": FOLLOWER}
    assert await code_of(client, "POST", "/messages/media", not_admin_media) == (403, "NOT_CHANNEL_ADMIN")
    unknown_media = {**media, "to": UNKNOWN}
    assert await code_of(client, "POST", "/messages/media", unknown_media) == (404, "NEWSLETTER_NOT_FOUND")
    assert await sent_log(client, FOLLOWER) == before
    status, body = await api(client, "GET", f"{path}?limit=10")
    assert len(body["data"]["messages"]) == 4
    await linked.close()


async def test_bad_channel_requests_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    status, body = await api(client, "POST", "/sandbox/newsletters", {"name": "Daily"})
    daily = body["data"]["jid"]
    follow = f"/newsletters/{TOKEN}/follow"
    posts = f"/newsletters/{TOKEN}/{daily}/messages"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", f"/newsletters/{TOKEN}", {"name": ""}, 400, "INVALID_NEWSLETTER"),
        ("POST", f"/newsletters/{TOKEN}", {"name": "x" * 101}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": "1@newsletter", "invite": "AbCdEf1234"}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": "1@g.us"}, 400, "INVALID_NEWSLETTER"),
        ("POST", follow, {"jid": UNKNOWN}, 404, "NEWSLETTER_NOT_FOUND"),
        ("POST", follow, {"invite": "NoSuchInvite1"}, 404, "INVITE_INVALID"),
        ("GET", f"/newsletters/{TOKEN}/not-a-channel", None, 400, "INVALID_NEWSLETTER"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {}, 400, "INVALID_NEWSLETTER"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {"muted": "yes"}, 400, "INVALID_REQUEST"),
        ("PATCH", f"/newsletters/{TOKEN}/120363999999999999", {"muted": True}, 404, "NEWSLETTER_NOT_FOUND"),
        ("GET", f"{posts}?limit=0", None, 400, "INVALID_QUERY"),
        ("GET", f"{posts}?limit=101", None, 400, "INVALID_QUERY"),
        ("GET", f"{posts}?limit=two", None, 400, "INVALID_QUERY"),
        ("GET", f"{posts}?before=-1", None, 400, "INVALID_QUERY"),
        ("GET", f"{posts}?before=99999999999", None, 400, "INVALID_QUERY"),
        ("GET", f"/newsletters/{TOKEN}/{UNKNOWN}/messages", None, 404, "NEWSLETTER_NOT_FOUND"),
        ("GET", f"/newsletters/{TOKEN}/nope/messages", None, 400, "INVALID_NEWSLETTER"),
        (
            "POST",
            "/messages/media",
            {"token": TOKEN, "to": "1@newsletter", "type": "image"},
            400,
            "INVALID_MEDIA",
        ),
        ("POST", f"/sandbox/newsletters/{UNKNOWN}/messages", {"text": "x"}, 404, "NEWSLETTER_NOT_FOUND"),
        (
            "POST",
            f"/sandbox/newsletters/{daily}/reactions",
            {"serverId": 1, "emoji": "👍"},
            404,
            "NEWSLETTER_NOT_FOUND",
        ),
        (
            "POST",
            f"/sandbox/newsletters/{daily}/reactions",
            {"serverId": "1", "emoji": "👍"},
            400,
            "INVALID_REQUEST",
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
    status, body = await api(client, "GET", posts)
    assert status == 200 and body["data"] == {"messages": [], "nextCursor": None}
    assert (await sent_log(client))["messages"] == []
    await linked.close()
