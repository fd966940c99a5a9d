"""The sandbox's other side: what peers do (media, reactions, edits, revokes, calls) becomes events."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c

from .conftest import EventRecorder
from .sandbox_helpers import ALICE, GROUP, NOW, TOKEN, code_of, linked, sent_log


@pytest.fixture
async def device(sandbox: SandboxBackend) -> SandboxBackend:
    await linked(sandbox)
    return sandbox


async def test_groups_as_the_sandbox_was_told(device: SandboxBackend) -> None:
    assert await device.handler(c.CMD_LIST_GROUPS)(TOKEN) == []
    groups = [
        {
            "jid": GROUP,
            "subject": "Team",
            "participants": ["628111", "628222"],
            "owner": "628111",
            "topic": "Ship",
        },
        {"jid": "1203630000", "subject": "Family", "participants": ["628333"]},
    ]
    assert await device.control("groups", {"token": TOKEN, "groups": groups}) == {"groups": 2}
    assert await device.handler(c.CMD_LIST_GROUPS)(TOKEN) == [
        {"jid": GROUP, "subject": "Team", "participants": 2},
        {"jid": "1203630000@g.us", "subject": "Family", "participants": 1},
    ]
    assert await device.handler(c.CMD_GROUP_INFO)(TOKEN, GROUP) == {
        "jid": GROUP,
        "subject": "Team",
        "topic": "Ship",
        "owner": "628111@s.whatsapp.net",
        "createdAt": None,
        "participants": [
            {"jid": "628111@s.whatsapp.net", "phone": "628111", "isAdmin": True, "isSuperAdmin": True},
            {"jid": "628222@s.whatsapp.net", "phone": "628222", "isAdmin": False, "isSuperAdmin": False},
        ],
    }
    assert await code_of(device.handler(c.CMD_GROUP_INFO)(TOKEN, "999@g.us")) == c.E_INVALID_ARGUMENT
    assert await code_of(device.handler(c.CMD_GROUP_INFO)(TOKEN, ALICE)) == c.E_INVALID_ARGUMENT
    for bad in (
        [{"jid": GROUP, "subject": "x", "participants": ["abc"]}],
        [{"jid": GROUP}],
        "all",
        [groups[0], groups[0]],
    ):
        assert (
            await code_of(device.control("groups", {"token": TOKEN, "groups": bad})) == c.E_INVALID_ARGUMENT
        )
    assert len(await device.handler(c.CMD_LIST_GROUPS)(TOKEN)) == 2


async def test_incoming_media_can_be_downloaded(
    device: SandboxBackend, recorder: EventRecorder, tmp_path: Path
) -> None:
    data = b"%PDF-1.4 the report"
    args = {
        "token": TOKEN,
        "from": "628111",
        "kind": "document",
        "mimetype": "application/pdf",
        "filename": "q3.pdf",
        "caption": "Q3",
        "base64": base64.b64encode(data).decode(),
        "id": "DOC/1",
    }
    assert await device.control("media_message", args) == {"id": "DOC/1"}
    [message] = recorder.of(c.EV_MESSAGE)
    assert (message["type"], message["text"], message["caption"]) == ("document", "Q3", "Q3")
    assert message["media"] == {"mimetype": "application/pdf", "size": len(data), "filename": "q3.pdf"}
    result = await device.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "DOC/1")
    path = Path(result["path"])
    assert path.parent == tmp_path / "data" / "media" / "incoming" / TOKEN and "/" not in path.name
    assert await asyncio.to_thread(path.read_bytes) == data
    assert result == {
        "path": str(path),
        "mimetype": "application/pdf",
        "filename": "q3.pdf",
        "size": len(data),
    }

    text = await device.control("message", {"token": TOKEN, "from": "628111", "text": "no file"})
    assert await code_of(device.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, text["id"])) == c.E_INVALID_ARGUMENT
    assert await code_of(device.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "NOPE")) == c.E_MESSAGE_NOT_FOUND
    for bad in ({"base64": "not base64!"}, {"base64": ""}, {"kind": "gif"}, {"kind": "sticker"}):
        assert await code_of(device.control("media_message", {**args, **bad})) == c.E_INVALID_ARGUMENT


async def test_what_peers_do_becomes_events(device: SandboxBackend, recorder: EventRecorder) -> None:
    incoming = await device.control(
        "message",
        {"token": TOKEN, "from": "628111", "text": "hi @628222", "replyTo": "X0", "mentions": ["628222"]},
    )
    [message] = recorder.of(c.EV_MESSAGE)
    assert (message["replyTo"], message["mentions"], message["caption"], message["media"]) == (
        "X0",
        ["628222@s.whatsapp.net"],
        None,
        None,
    )
    about = {"chat": ALICE, "from": ALICE, "timestamp": NOW, "isGroup": False, "senderPhone": "628111"}
    reaction = await device.control(
        "reaction", {"token": TOKEN, "from": "628111", "targetId": incoming["id"], "emoji": "❤️"}
    )
    await device.control(
        "edit", {"token": TOKEN, "from": "628111", "targetId": incoming["id"], "text": "hello"}
    )
    await device.control(
        "revoke", {"token": TOKEN, "from": "628111", "targetId": incoming["id"], "chat": GROUP}
    )
    assert recorder.of(c.EV_REACTION) == [
        {"id": reaction["id"], "targetId": incoming["id"], "emoji": "❤️", **about}
    ]
    assert recorder.of(c.EV_MESSAGE_EDITED) == [{"id": incoming["id"], "text": "hello", **about}]
    assert recorder.of(c.EV_MESSAGE_REVOKED) == [
        {"id": incoming["id"], **about, "chat": GROUP, "isGroup": True}
    ]
    assert (
        await code_of(device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "quote", 0, reply_to=incoming["id"]))
        == c.E_MESSAGE_NOT_FOUND
    )

    other = await device.control("message", {"token": TOKEN, "from": "628111", "text": "mine"})
    not_author = {"token": TOKEN, "from": "628999", "targetId": other["id"], "text": "hijack"}
    assert await code_of(device.control("edit", not_author)) == c.E_INVALID_ARGUMENT
    bad_reaction = {"token": TOKEN, "from": "628111", "targetId": other["id"], "emoji": "not one"}
    assert await code_of(device.control("reaction", bad_reaction)) == c.E_INVALID_ARGUMENT


async def test_calls_and_their_rejection(
    device: SandboxBackend, recorder: EventRecorder, clock: ManualClock
) -> None:
    call = await device.control("call", {"token": TOKEN, "from": "628111", "video": True})
    assert recorder.of(c.EV_CALL_OFFER) == [
        {"from": ALICE, "callId": call["callId"], "timestamp": NOW, "isVideo": True, "isGroup": False}
    ]
    clock.advance(1)
    await device.handler(c.CMD_REJECT_CALL)(TOKEN, ALICE, call["callId"])
    assert (await sent_log(device))["rejectedCalls"] == [
        {"from": ALICE, "callId": call["callId"], "at": NOW + 1}
    ]
    assert (
        await code_of(device.control("call", {"token": TOKEN, "from": "628111", "video": "yes"}))
        == c.E_INVALID_ARGUMENT
    )
