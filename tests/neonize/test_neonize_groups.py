"""Group administration through the neonize backend, against the fake Go functions (group_fakes.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.utils import build_jid

from tests.neonize.group_fakes import FORBIDDEN
from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

ALICE_JID = "15557654321@s.whatsapp.net"
BOB_JID = "15559990000@s.whatsapp.net"
OWN_JID = f"{TOKEN}@s.whatsapp.net"


async def code_of(awaitable: Any) -> str:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value.code


async def created(backend: NeonizeBackend) -> str:
    details = await backend.handler(c.CMD_CREATE_GROUP)(TOKEN, "Team", [ALICE_JID])
    return str(details["jid"])


async def test_create_change_and_leave(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    details = await backend.handler(c.CMD_CREATE_GROUP)(TOKEN, "Team", [ALICE_JID])
    gid = details["jid"]
    assert gid.endswith("@g.us") and details["subject"] == "Team"
    assert [(p["jid"], p["isSuperAdmin"]) for p in details["participants"]] == [
        (OWN_JID, True),
        (ALICE_JID, False),
    ]
    (create,) = fake_go.called("CreateGroup")
    request = P.ReqCreateGroup.FromString(create.args[1])
    assert (request.name, [p.User for p in request.Participants]) == ("Team", ["15557654321"])
    assert request.CreateKey == "3EB0CREATEKEY"  # neonize asks Go for a message id as the create key
    assert not request.GroupParent.IsParent
    await backend.handler(c.CMD_CREATE_GROUP)(TOKEN, "School", [ALICE_JID], True)
    assert P.ReqCreateGroup.FromString(fake_go.called("CreateGroup")[1].args[1]).GroupParent.IsParent

    update = backend.handler(c.CMD_UPDATE_GROUP)
    assert await update(TOKEN, gid, "Core", "Ship it", True, None) == {
        "changed": ["subject", "topic", "announce"]
    }
    (topic,) = fake_go.called("SetGroupTopic")
    # No previous or new topic id: whatsmeow looks the current one up and makes a new one (group.go).
    assert (topic.args[3], topic.args[4], topic.args[5]) == (b"", b"", b"Ship it")
    info = await backend.handler(c.CMD_GROUP_INFO)(TOKEN, gid)
    assert (info["subject"], info["topic"]) == ("Core", "Ship it")
    assert fake_go.called("SetGroupLocked") == []
    assert await code_of(update(TOKEN, gid, None, None, None, None)) == c.E_INVALID_ARGUMENT

    await backend.handler(c.CMD_LEAVE_GROUP)(TOKEN, gid)
    assert await code_of(backend.handler(c.CMD_LEAVE_GROUP)(TOKEN, gid)) == c.E_GROUP_NOT_FOUND


async def test_participants_answer_per_person(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    gid = await created(backend)
    change = backend.handler(c.CMD_GROUP_PARTICIPANTS)
    assert await change(TOKEN, gid, "add", [ALICE_JID, BOB_JID]) == [
        {"participant": ALICE_JID, "status": "already_member"},
        {"participant": BOB_JID, "status": "ok"},
    ]
    (call,) = fake_go.called("UpdateGroupParticipants")
    assert call.args[5] == b"add"  # neonize sends ParticipantChange.value
    assert await change(TOKEN, gid, "remove", ["15550000009@s.whatsapp.net"]) == [
        {"participant": "15550000009@s.whatsapp.net", "status": "not_member"}
    ]
    assert await change(TOKEN, gid, "promote", [BOB_JID]) == [{"participant": BOB_JID, "status": "ok"}]
    assert await code_of(change(TOKEN, gid, "kick", [BOB_JID])) == c.E_INVALID_ARGUMENT
    assert (
        await code_of(change(TOKEN, "15557654321@s.whatsapp.net", "add", [BOB_JID])) == c.E_INVALID_ARGUMENT
    )


async def test_a_device_that_is_not_admin_is_told_so(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    gid = await created(backend)
    fake_go.group_refusal = FORBIDDEN
    refusals = [
        backend.handler(c.CMD_UPDATE_GROUP)(TOKEN, gid, "Mine", None, None, None),
        backend.handler(c.CMD_GROUP_PARTICIPANTS)(TOKEN, gid, "add", [BOB_JID]),
        backend.handler(c.CMD_GROUP_INVITE)(TOKEN, gid, False),
        backend.handler(c.CMD_GROUP_REQUESTS)(TOKEN, gid),
    ]
    for refusal in refusals:
        assert await code_of(refusal) == c.E_NOT_GROUP_ADMIN
    missing = "120363999999999999@g.us"
    assert await code_of(backend.handler(c.CMD_GROUP_INVITE)(TOKEN, missing, False)) == c.E_GROUP_NOT_FOUND


async def test_invites_join_and_preview(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    gid = await created(backend)
    invite = backend.handler(c.CMD_GROUP_INVITE)
    link = (await invite(TOKEN, gid, False))["link"]
    assert link == (await invite(TOKEN, gid, False))["link"]
    code = link.rsplit("/", 1)[1]
    assert (await backend.handler(c.CMD_GROUP_INVITE_INFO)(TOKEN, code))["subject"] == "Team"
    assert await backend.handler(c.CMD_JOIN_GROUP)(TOKEN, code) == {"jid": gid}
    new = (await invite(TOKEN, gid, True))["link"]
    assert new != link and fake_go.called("GetGroupInviteLink")[-1].args[3] is True
    assert await code_of(backend.handler(c.CMD_JOIN_GROUP)(TOKEN, code)) == c.E_INVITE_INVALID  # revoked
    assert await code_of(backend.handler(c.CMD_GROUP_INVITE_INFO)(TOKEN, "Nope12345")) == c.E_INVITE_INVALID


async def test_picture_requests_and_communities(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    gid = await created(backend)
    outgoing = settings.data_dir / "media" / "outgoing"
    outgoing.mkdir(parents=True, exist_ok=True)
    (outgoing / "pic").write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    (outgoing / "gif").write_bytes(b"GIF89a")
    picture = backend.handler(c.CMD_SET_GROUP_PICTURE)
    assert await picture(TOKEN, gid, outgoing / "pic") == {"pictureId": "1700000777"}
    (call,) = fake_go.called("SetGroupPhoto")
    assert call.args[3] == b"\xff\xd8\xff\xe0 a jpeg"  # bytes: neonize would read a str as a path or URL
    assert await code_of(picture(TOKEN, gid, outgoing / "gif")) == c.E_INVALID_ARGUMENT

    fake_go.join_requests = [
        P.GroupParticipantRequest(Participant=build_jid("15551112222"), TimeAt=1_700_000_100)
    ]
    assert await backend.handler(c.CMD_GROUP_REQUESTS)(TOKEN, gid) == [
        {"jid": "15551112222@s.whatsapp.net", "requestedAt": 1_700_000_100.0}
    ]

    community = "120363000000000099@g.us"
    await backend.handler(c.CMD_LINK_GROUP)(TOKEN, community, gid)
    assert await backend.handler(c.CMD_SUB_GROUPS)(TOKEN, community) == [
        {"jid": gid, "subject": "Team", "isDefault": False}
    ]
    await backend.handler(c.CMD_UNLINK_GROUP)(TOKEN, community, gid)
    assert await backend.handler(c.CMD_SUB_GROUPS)(TOKEN, community) == []
    assert await code_of(backend.handler(c.CMD_UNLINK_GROUP)(TOKEN, community, gid)) == c.E_GROUP_NOT_FOUND


async def test_group_events(backend: NeonizeBackend, connected: FakeSession, recorder: Recorder) -> None:
    group = build_jid("120363025246125486", "g.us")
    alice, bob, me = build_jid("15557654321"), build_jid("15559990000"), build_jid(TOKEN)
    joined = P.JoinedGroup(
        GroupInfo=P.GroupInfo(JID=group, GroupName=P.GroupName(Name="Team")),
        Sender=build_jid("987654321012345", "lid"),
        SenderPN=alice,
    )
    await asyncio.to_thread(connected.event, nc.JOINED_GROUP, joined)
    event = await recorder.wait_for(c.EV_GROUP_JOINED)
    assert (event["jid"], event["subject"], event["by"]) == ("120363025246125486@g.us", "Team", ALICE_JID)

    info = P.GroupInfoEvent(
        JID=group,
        Sender=alice,
        Timestamp=1_700_000_200,
        Name=P.GroupName(Name="Core"),
        Locked=P.GroupLocked(isLocked=True),
        Join=[bob],
        Leave=[me],
    )
    await asyncio.to_thread(connected.event, nc.GROUP_INFO, info)
    left = await recorder.wait_for(c.EV_GROUP_LEFT)
    assert (left["by"], left["timestamp"]) == (ALICE_JID, 1_700_000_200)
    updated = recorder.of(c.EV_GROUP_UPDATED)[0]
    assert updated["changes"] == {"subject": "Core", "locked": True} and updated["by"] == ALICE_JID
    changes = [(e["action"], e["participants"]) for e in recorder.of(c.EV_GROUP_PARTICIPANTS)]
    assert changes == [("add", [BOB_JID]), ("remove", [OWN_JID])]
