"""Group administration end to end: the real gateway, worker and a webhook receiver; the sandbox plays
WhatsApp's groups and their rules (docs/groups.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from wa_gateway.channels.api import ChannelsApi
from wa_gateway.groups.api import GroupsApi
from wa_gateway.route_limits import ROUTE_LIMITS

from .conftest import AUTH, SettingsFactory
from .harness import api, link_device
from .messaging_harness import PEER, PEER_JID, TOKEN, linked_gateway
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

OTHER = "60111222333"
OTHER_JID = f"{OTHER}@s.whatsapp.net"
TOKEN_JID = f"{TOKEN}@s.whatsapp.net"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def events(receiver: Receiver, name: str, token: str | None = None) -> list[dict[str, Any]]:
    return [
        r.payload["data"]
        for r in receiver.delivered()
        if r.payload["event"] == name and (token is None or r.payload["token"] == token)
    ]


async def code_of(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = await api(client, method, path, body)
    return status, answer["error"]["code"] if status >= 400 else ""


async def check_schemas(client: TestClient, receiver: Receiver) -> None:
    """Every group webhook received validates against its schema in /openapi.json."""
    document = await (await client.get("/openapi.json")).json()
    seen = 0
    for received in receiver.delivered():
        name = received.payload["event"]
        if not name.startswith("group."):
            continue
        hook = document["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.validate(received.payload["data"], hook["properties"]["data"])
        seen += 1
    assert seen > 0


async def test_a_group_created_changed_and_left_through_two_devices(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    await link_device(client, OTHER, linked.listener)

    status, body = await api(
        client, "POST", f"/groups/{TOKEN}", {"subject": "Team", "participants": [OTHER, PEER, OTHER]}
    )
    assert status == 200 and body["message"] == "Group created", body
    group = body["data"]
    gid = group["jid"]
    assert gid.endswith("@g.us") and group["subject"] == "Team" and group["createdAt"].endswith("Z")
    roles = {p["phone"]: (p["isAdmin"], p["isSuperAdmin"]) for p in group["participants"]}
    assert roles == {TOKEN: (True, True), OTHER: (False, False), PEER: (False, False)}
    await eventually(lambda: len(events(receiver, "group.joined")) == 2, what="both devices joined")
    assert events(receiver, "group.joined", TOKEN)[0]["by"] is None  # it made the group itself
    assert events(receiver, "group.joined", OTHER)[0] == {
        "jid": gid,
        "subject": "Team",
        "by": TOKEN_JID,
        "timestamp": events(receiver, "group.joined", OTHER)[0]["timestamp"],
    }
    status, body = await api(client, "GET", f"/groups/{OTHER}/{gid}")
    assert status == 200 and body["data"]["subject"] == "Team"

    # An unlocked group lets any member edit its info; only admins change its settings.
    status, body = await api(client, "PATCH", f"/groups/{OTHER}/{gid}", {"topic": "Sprint 12"})
    assert status == 200 and body["data"] == {"jid": gid, "changed": ["topic"]}
    assert await code_of(client, "PATCH", f"/groups/{OTHER}/{gid}", {"locked": True}) == (
        403,
        "NOT_GROUP_ADMIN",
    )
    status, body = await api(
        client, "PATCH", f"/groups/{TOKEN}/{gid}", {"subject": "Core team", "locked": True}
    )
    assert status == 200 and body["data"]["changed"] == ["subject", "locked"]
    assert await code_of(client, "PATCH", f"/groups/{OTHER}/{gid}", {"subject": "Mine"}) == (
        403,
        "NOT_GROUP_ADMIN",
    )
    status, body = await api(client, "GET", f"/groups/{OTHER}/{gid}")
    assert (body["data"]["subject"], body["data"]["topic"]) == ("Core team", "Sprint 12")
    await eventually(lambda: len(events(receiver, "group.updated", OTHER)) == 2, what="two updates")
    assert [e["changes"] for e in events(receiver, "group.updated", OTHER)] == [
        {"topic": "Sprint 12"},
        {"subject": "Core team", "locked": True},
    ]
    assert events(receiver, "group.updated", OTHER)[1]["by"] == TOKEN_JID

    participants = f"/groups/{OTHER}/{gid}/participants"
    assert await code_of(
        client, "POST", participants, {"action": "add", "participants": ["60177777777"]}
    ) == (
        403,
        "NOT_GROUP_ADMIN",
    )
    status, body = await api(
        client,
        "POST",
        f"/groups/{TOKEN}/{gid}/participants",
        {"action": "promote", "participants": [OTHER, "60177777777", TOKEN]},
    )
    assert status == 200 and body["data"]["results"] == [
        {"participant": OTHER_JID, "status": "ok"},
        {"participant": "60177777777@s.whatsapp.net", "status": "not_member"},
        {"participant": TOKEN_JID, "status": "ok"},
    ]
    status, body = await api(client, "POST", participants, {"action": "demote", "participants": [TOKEN]})
    assert body["data"]["results"] == [{"participant": TOKEN_JID, "status": "forbidden"}]  # the creator
    await eventually(lambda: len(events(receiver, "group.participants", TOKEN)) == 1, what="the promotion")
    promoted = events(receiver, "group.participants", TOKEN)[0]
    assert (promoted["action"], promoted["participants"], promoted["by"]) == (
        "promote",
        [OTHER_JID, TOKEN_JID],
        TOKEN_JID,
    )

    # Invites: only admins see the link; revoking it makes the old one useless.
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{gid}/invite")
    link = body["data"]["link"]
    assert status == 200 and link.startswith("https://chat.whatsapp.com/")
    status, body = await api(
        client, "POST", f"/groups/{TOKEN}/{gid}/participants", {"action": "remove", "participants": [OTHER]}
    )
    assert body["data"]["results"] == [{"participant": OTHER_JID, "status": "ok"}]
    await eventually(lambda: len(events(receiver, "group.left", OTHER)) == 1, what="OTHER removed")
    assert events(receiver, "group.left", OTHER)[0]["by"] == TOKEN_JID
    assert await code_of(client, "GET", f"/groups/{OTHER}/{gid}") == (404, "GROUP_NOT_FOUND")
    code = link.rsplit("/", 1)[1]
    status, body = await api(client, "GET", f"/groups/{OTHER}/invite/{code}")
    assert status == 200 and body["data"]["subject"] == "Core team"
    status, body = await api(client, "POST", f"/groups/{OTHER}/join", {"invite": link})
    assert status == 200 and body["data"] == {"jid": gid}
    assert await code_of(client, "POST", f"/groups/{OTHER}/join", {"invite": code}) == (409, "ALREADY_MEMBER")
    status, body = await api(client, "DELETE", f"/groups/{TOKEN}/{gid}/invite")
    assert status == 200 and body["data"]["link"] != link
    assert await code_of(client, "GET", f"/groups/{OTHER}/invite/{code}") == (404, "INVITE_INVALID")

    resp = await client.put(
        f"/groups/{TOKEN}/{gid}/picture", data=JPEG, headers={**AUTH, "Content-Type": "image/jpeg"}
    )
    assert resp.status == 200 and (await resp.json())["data"]["pictureId"]
    resp = await client.put(f"/groups/{TOKEN}/{gid}/picture", data=b"GIF89a", headers=AUTH)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "INVALID_MEDIA"

    status, body = await api(client, "DELETE", f"/groups/{OTHER}/{gid}")
    assert status == 200 and body["data"] == {"jid": gid, "left": True}
    await eventually(
        lambda: any(
            e["action"] == "remove" and e["by"] == OTHER_JID
            for e in events(receiver, "group.participants", TOKEN)
        ),
        what="TOKEN told that OTHER left",
    )
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{gid}")
    assert {p["phone"] for p in body["data"]["participants"]} == {TOKEN, PEER}
    await check_schemas(client, receiver)
    await linked.close()


async def test_bad_group_requests_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    status, body = await api(client, "POST", f"/groups/{TOKEN}", {"subject": "Team", "participants": [PEER]})
    gid = body["data"]["jid"]
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", f"/groups/{TOKEN}", {"subject": "", "participants": [PEER]}, 400, "INVALID_GROUP"),
        ("POST", f"/groups/{TOKEN}", {"subject": "x" * 101, "participants": [PEER]}, 400, "INVALID_GROUP"),
        ("POST", f"/groups/{TOKEN}", {"subject": "Team", "participants": PEER}, 400, "INVALID_REQUEST"),
        ("POST", f"/groups/{TOKEN}", {"subject": "Team", "participants": []}, 400, "INVALID_PARTICIPANTS"),
        (
            "POST",
            f"/groups/{TOKEN}",
            {"subject": "Team", "participants": ["12"]},
            400,
            "INVALID_PARTICIPANTS",
        ),
        ("PATCH", f"/groups/{TOKEN}/{gid}", {}, 400, "INVALID_GROUP"),
        ("PATCH", f"/groups/{TOKEN}/{gid}", {"announce": "yes"}, 400, "INVALID_REQUEST"),
        ("PATCH", f"/groups/{TOKEN}/{gid}", {"topic": "x" * 2049}, 400, "INVALID_GROUP"),
        ("PATCH", f"/groups/{TOKEN}/not-a-group", {"subject": "A"}, 400, "INVALID_GROUP"),
        (
            "POST",
            f"/groups/{TOKEN}/{gid}/participants",
            {"action": "kick", "participants": [PEER]},
            400,
            "INVALID_GROUP",
        ),
        ("POST", f"/groups/{TOKEN}/join", {"invite": "https://example.com/x y"}, 400, "INVALID_INVITE"),
        ("POST", f"/groups/{TOKEN}/join", {"invite": "AbCdEf123456"}, 404, "INVITE_INVALID"),
        ("DELETE", f"/groups/{TOKEN}/120363999999999999@g.us", None, 404, "GROUP_NOT_FOUND"),
        ("POST", f"/groups/{TOKEN}/{gid}/links", {"child": gid}, 400, "INVALID_REQUEST"),
        ("POST", "/groups/60155555555", {"subject": "Team", "participants": [PEER]}, 404, "DEVICE_NOT_FOUND"),
    ]
    for method, path, payload, status_expected, code in cases:
        assert await code_of(client, method, path, payload) == (status_expected, code), (
            method,
            path,
            payload,
        )
    status, body = await api(client, "GET", f"/groups/{TOKEN}")
    assert body["data"]["total"] == 1
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{gid}")
    assert status == 200 and (body["data"]["subject"], body["data"]["topic"]) == ("Team", "")
    await linked.close()


async def test_the_sandbox_plays_other_members_and_communities(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    status, body = await api(
        client, "POST", "/sandbox/groups", {"subject": "Family", "participants": [PEER, TOKEN], "owner": PEER}
    )
    assert status == 200, body
    gid = body["data"]["jid"]
    await eventually(lambda: len(events(receiver, "group.joined", TOKEN)) == 1, what="TOKEN added")
    assert events(receiver, "group.joined", TOKEN)[0]["by"] == PEER_JID
    # Only an admin of the group changes its people, in the sandbox as on WhatsApp.
    change = f"/sandbox/groups/{gid}/participants"
    assert await code_of(
        client, "POST", change, {"action": "add", "participants": ["60177777777"], "by": TOKEN}
    ) == (
        403,
        "NOT_GROUP_ADMIN",
    )
    status, body = await api(
        client, "POST", change, {"action": "add", "participants": ["60177777777"], "by": PEER}
    )
    assert status == 200 and body["data"]["results"] == [
        {"participant": "60177777777@s.whatsapp.net", "status": "ok"}
    ]
    await eventually(lambda: len(events(receiver, "group.participants", TOKEN)) == 1, what="the addition")
    assert events(receiver, "group.participants", TOKEN)[0]["participants"] == ["60177777777@s.whatsapp.net"]
    status, body = await api(
        client, "POST", f"/sandbox/groups/{gid}/messages", {"from": PEER, "text": "lunch?"}
    )
    assert status == 200 and body["data"]["delivered"] == [TOKEN]
    await eventually(lambda: len(events(receiver, "message.received", TOKEN)) == 1, what="the group message")
    message = events(receiver, "message.received", TOKEN)[0]
    assert (message["chat"], message["text"], message["isGroup"]) == (gid, "lunch?", True)

    status, body = await api(
        client, "POST", f"/groups/{TOKEN}", {"subject": "School", "participants": [PEER], "community": True}
    )
    community = body["data"]["jid"]
    status, body = await api(
        client, "POST", f"/groups/{TOKEN}", {"subject": "Parents", "participants": [PEER]}
    )
    child = body["data"]["jid"]
    assert await code_of(client, "POST", f"/groups/{TOKEN}/{gid}/links", {"child": child}) == (
        403,
        "NOT_GROUP_ADMIN",
    )
    status, body = await api(client, "POST", f"/groups/{TOKEN}/{community}/links", {"child": child})
    assert status == 200 and body["data"] == {"parent": community, "child": child, "linked": True}
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{community}/subgroups")
    assert body["data"]["groups"] == [{"jid": child, "subject": "Parents", "isDefault": False}]
    status, body = await api(client, "DELETE", f"/groups/{TOKEN}/{community}/links/{child}")
    assert status == 200 and body["data"]["linked"] is False
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{community}/subgroups")
    assert body["data"]["total"] == 0
    await check_schemas(client, receiver)
    await linked.close()


def test_every_group_and_channel_route_is_limited_like_messages() -> None:
    served = {
        (route.method, route.path)
        for route in [*GroupsApi(None, None, Path()).routes(), *ChannelsApi(None).routes()]  # type: ignore[arg-type]
    }
    limited = {route for route, group in ROUTE_LIMITS.items() if group == "messages"}
    assert served - limited == set()


async def test_group_routes_count_against_the_message_limit(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, RATE_LIMIT_MESSAGES=1)
    client = linked.client
    assert (await code_of(client, "POST", f"/groups/{TOKEN}/join", {"invite": "AbCdEf123456"}))[0] == 404
    assert await code_of(client, "POST", f"/groups/{TOKEN}/join", {"invite": "AbCdEf123456"}) == (
        429,
        "RATE_LIMITED",
    )
    await linked.close()
