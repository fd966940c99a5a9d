"""Replies, mentions, groups, reactions, edits, revokes, read receipts, polls and presence, end to end
through the real gateway and the sandbox engine worker."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import api
from .messaging_harness import (
    GROUP,
    PEER,
    PEER_JID,
    TOKEN,
    incoming,
    last_sent,
    linked_gateway,
    send_text,
    sent_log,
)

pytestmark = pytest.mark.slow


async def test_replies_mentions_groups_and_lids(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    quoted = await incoming(client, {"text": "question?"})
    other = "60177777777"
    status, body = await api(
        client,
        "POST",
        "/messages",
        {
            "token": TOKEN,
            "to": PEER,
            "text": f"answer for @{PEER}",
            "replyTo": quoted,
            "mentions": [PEER, f"{other}@s.whatsapp.net", "0198765432"],
        },
    )
    assert status == 200, body
    sent = await last_sent(client)
    assert sent["id"] == body["data"]["messageId"]
    # A mention missing from the text is added as @<digits>; one already there is not repeated.
    assert sent["text"] == f"answer for @{PEER} @{other}"
    assert sent["mentions"] == [PEER_JID, f"{other}@s.whatsapp.net"]
    assert sent["replyTo"] == quoted

    for to in (GROUP, "123456789012345@lid", PEER_JID):
        status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": to, "text": "hello"})
        assert status == 200, (to, body)
        sent = await last_sent(client)
        assert (sent["to"], sent["text"]) == (to, "hello")
        assert "replyTo" not in sent and "mentions" not in sent

    for fields, status, code, message in (
        ({"replyTo": "3EB0AAAAAAAAAAAAAAAAAA"}, 404, "MESSAGE_NOT_FOUND", "Message not found"),
        ({"replyTo": "bad id"}, 400, "INVALID_MESSAGE_ID", "replyTo must be a message id"),
        ({"mentions": PEER}, 400, "INVALID_MENTIONS", None),
        ({"mentions": [GROUP]}, 400, "INVALID_MENTIONS", None),
        ({"to": "120363@g.us\n"}, 400, "INVALID_PHONE", None),
        ({"to": "abc@s.whatsapp.net"}, 400, "INVALID_PHONE", None),
        (
            {"text": "x" * 65530, "mentions": [PEER, other]},
            400,
            "INVALID_MESSAGE",
            "Message text is too long",
        ),
    ):
        body_in = {"token": TOKEN, "to": PEER, "text": "hi", **fields}
        status_out, body = await api(client, "POST", "/messages", body_in)
        assert (status_out, body["error"]["code"]) == (status, code), (fields, body)
        if message:
            assert body["error"]["message"] == message
    await linked.close()


async def test_react_edit_revoke_and_read(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    mine = await send_text(client)
    theirs = await incoming(client, {"text": "hello there"})

    status, body = await api(
        client, "POST", f"/messages/{theirs}/reaction", {"token": TOKEN, "chat": PEER, "emoji": "👍🏽"}
    )
    assert status == 200 and body["message"] == "Reaction sent", body
    assert (body["data"]["messageId"], body["data"]["emoji"]) == (theirs, "👍🏽")
    sent = await last_sent(client)
    assert (sent["kind"], sent["targetId"], sent["emoji"], sent["to"]) == (
        "reaction",
        theirs,
        "👍🏽",
        PEER_JID,
    )
    status, body = await api(
        client, "POST", f"/messages/{theirs}/reaction", {"token": TOKEN, "chat": PEER, "emoji": ""}
    )
    assert status == 200 and body["message"] == "Reaction removed"
    assert (await last_sent(client))["emoji"] == ""
    for emoji in ("ok", "👍👍", "👍 ", None, 5):
        status, body = await api(
            client, "POST", f"/messages/{theirs}/reaction", {"token": TOKEN, "chat": PEER, "emoji": emoji}
        )
        expected = "INVALID_REQUEST" if emoji == 5 else "INVALID_EMOJI"
        assert (status, body["error"]["code"]) == (400, expected), emoji
    status, body = await api(
        client,
        "POST",
        "/messages/3EB0AAAAAAAAAAAAAAAAAA/reaction",
        {"token": TOKEN, "chat": PEER, "emoji": "👍"},
    )
    assert (status, body["error"]) == (404, {"code": "MESSAGE_NOT_FOUND", "message": "Message not found"})

    status, body = await api(
        client, "PATCH", f"/messages/{mine}", {"token": TOKEN, "chat": PEER, "text": "hi!"}
    )
    assert status == 200 and body["message"] == "Message edited", body
    sent = await last_sent(client)
    assert (sent["kind"], sent["targetId"], sent["text"]) == ("edit", mine, "hi!")
    for body_in, status_expected, code in (
        ({"token": TOKEN, "chat": PEER, "text": " "}, 400, "INVALID_MESSAGE"),
        ({"token": TOKEN, "text": "x"}, 400, "INVALID_CHAT"),
        ({"token": TOKEN, "chat": "nobody", "text": "x"}, 400, "INVALID_CHAT"),
    ):
        status_out, body = await api(client, "PATCH", f"/messages/{mine}", body_in)
        assert (status_out, body["error"]["code"]) == (status_expected, code), body_in
    # Only the device's own messages can be edited or revoked.
    status, body = await api(
        client, "PATCH", f"/messages/{theirs}", {"token": TOKEN, "chat": PEER, "text": "x"}
    )
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")

    status, body = await api(client, "DELETE", f"/messages/{mine}?token={TOKEN}&chat={PEER}")
    assert status == 200 and body["message"] == "Message deleted for everyone", body
    sent = await last_sent(client)
    assert (sent["kind"], sent["targetId"]) == ("revoke", mine)
    second = await send_text(client, text="second")
    status, body = await api(client, "DELETE", f"/messages/{second}", {"token": TOKEN, "chat": PEER_JID})
    assert status == 200, body
    status, body = await api(client, "DELETE", f"/messages/{mine}", {"token": TOKEN, "chat": PEER})
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")  # already revoked
    status, body = await api(client, "DELETE", f"/messages/{second}?chat={PEER}")
    assert (status, body["error"]["code"]) == (400, "MISSING_TOKEN")

    status, body = await api(
        client, "POST", "/messages/read", {"token": TOKEN, "chat": PEER, "messageIds": [theirs, theirs]}
    )
    assert status == 200 and body["data"] == {"chat": PEER_JID, "messageIds": [theirs]}, body
    assert (await sent_log(client))["read"] == [theirs]
    for body_in, code in (
        ({"token": TOKEN, "chat": PEER, "messageIds": []}, "INVALID_MESSAGE_ID"),
        ({"token": TOKEN, "chat": PEER, "messageIds": "x"}, "INVALID_MESSAGE_ID"),
        ({"token": TOKEN, "chat": PEER, "messageIds": ["a b"]}, "INVALID_MESSAGE_ID"),
        ({"token": TOKEN, "chat": GROUP, "messageIds": [theirs], "sender": GROUP}, "INVALID_SENDER"),
        ({"token": TOKEN, "messageIds": [theirs]}, "INVALID_CHAT"),
    ):
        status_out, body = await api(client, "POST", "/messages/read", body_in)
        assert (status_out, body["error"]["code"]) == (400, code), body_in
    status, body = await api(
        client,
        "POST",
        "/messages/read",
        {"token": TOKEN, "chat": GROUP, "messageIds": [theirs], "sender": PEER},
    )
    assert status == 200, body

    await api(client, "POST", "/devices", {"token": "60111111111"})
    for method, path, body_in in (
        ("POST", f"/messages/{theirs}/reaction", {"chat": PEER, "emoji": "👍"}),
        ("PATCH", f"/messages/{mine}", {"chat": PEER, "text": "x"}),
        ("DELETE", f"/messages/{mine}", {"chat": PEER}),
        ("POST", "/messages/read", {"chat": PEER, "messageIds": [theirs]}),
    ):
        status, body = await api(client, method, path, {"token": "60111111111", **body_in})
        assert (status, body["error"]["code"]) == (409, "DEVICE_NOT_CONNECTED"), path
        status, body = await api(client, method, path, {"token": "60222222222", **body_in})
        assert (status, body["error"]["code"]) == (404, "DEVICE_NOT_FOUND"), path
    await linked.close()


async def test_polls(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    poll = {"token": TOKEN, "to": GROUP, "question": "Lunch?", "options": ["Rice", "Noodles", "Both"]}
    status, body = await api(client, "POST", "/polls", {**poll, "multiple": True})
    assert status == 200 and body["message"] == "Poll sent", body
    assert body["data"]["options"] == ["Rice", "Noodles", "Both"] and body["data"]["multiple"] is True
    sent = await last_sent(client)
    assert sent["id"] == body["data"]["messageId"]
    assert (sent["kind"], sent["to"], sent["question"]) == ("poll", GROUP, "Lunch?")
    assert (sent["options"], sent["multiple"]) == (["Rice", "Noodles", "Both"], True)
    status, body = await api(client, "POST", "/polls", {**poll, "to": PEER})
    assert status == 200 and (await last_sent(client))["multiple"] is False

    twelve = [f"option {i}" for i in range(12)]
    assert (await api(client, "POST", "/polls", {**poll, "options": twelve}))[0] == 200
    for fields, code in (
        ({"options": ["only one"]}, "INVALID_POLL"),
        ({"options": [*twelve, "thirteen"]}, "INVALID_POLL"),
        ({"options": ["Rice", "Rice"]}, "INVALID_POLL"),
        ({"options": ["Rice", " "]}, "INVALID_POLL"),
        ({"options": ["Rice", 5]}, "INVALID_POLL"),
        ({"options": "Rice,Noodles"}, "INVALID_POLL"),
        ({"options": ["Rice", "x" * 101]}, "INVALID_POLL"),
        ({"question": ""}, "INVALID_POLL"),
        ({"question": "q" * 256}, "INVALID_POLL"),
        ({"multiple": "yes"}, "INVALID_REQUEST"),
        ({"to": "nobody"}, "INVALID_PHONE"),
    ):
        status, body = await api(client, "POST", "/polls", {**poll, **fields})
        assert (status, body["error"]["code"]) == (400, code), fields
    assert [m["kind"] for m in (await sent_log(client))["messages"]] == ["poll", "poll", "poll"]
    await linked.close()


async def test_presence(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    for body_in in (
        {"state": "available"},
        {"state": "composing", "to": PEER},
        {"state": "recording", "to": GROUP},
        {"state": "paused", "to": PEER},
        {"state": "unavailable"},
    ):
        status, body = await api(client, "POST", "/presence", {"token": TOKEN, **body_in})
        assert status == 200 and body["message"] == "Presence updated", body
    log = (await sent_log(client))["presence"]
    assert [(p["to"], p["state"]) for p in log] == [
        (None, "available"),
        (PEER_JID, "composing"),
        (GROUP, "recording"),
        (PEER_JID, "paused"),
        (None, "unavailable"),
    ]
    for body_in, message in (
        ({"state": "typing"}, "state must be one of available, unavailable, composing, recording, paused"),
        ({}, "state must be one of available, unavailable, composing, recording, paused"),
        ({"state": "composing"}, "to is required with composing, recording and paused"),
        ({"state": "available", "to": PEER}, "to is only allowed with composing, recording and paused"),
    ):
        status, body = await api(client, "POST", "/presence", {"token": TOKEN, **body_in})
        assert (status, body["error"]) == (400, {"code": "INVALID_PRESENCE", "message": message}), body_in
    status, body = await api(client, "POST", "/presence", {"token": TOKEN, "state": "paused", "to": "x@y"})
    assert (status, body["error"]["code"]) == (400, "INVALID_PHONE")
    assert len((await sent_log(client))["presence"]) == 5
    await linked.close()


async def test_new_message_routes_are_rate_limited(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, RATE_LIMIT_MESSAGES=1)
    client = linked.client
    for method, path in (
        ("POST", "/messages/media"),
        ("POST", "/polls"),
        ("POST", "/presence"),
        ("POST", "/messages/read"),
        ("POST", "/messages/X1/reaction"),
        ("PATCH", "/messages/X1"),
        ("DELETE", "/messages/X1"),
        ("GET", f"/groups/{TOKEN}"),
    ):
        assert (await api(client, method, path, {}))[0] != 429, path
        status, body = await api(client, method, path, {})
        assert (status, body["error"]["code"]) == (429, "RATE_LIMITED"), path
    # Each route keeps its own window: the reaction on another message id shares the template's.
    assert (await api(client, "POST", "/messages/X2/reaction", {}))[0] == 429
    await linked.close()
