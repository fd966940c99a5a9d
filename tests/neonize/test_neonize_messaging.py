"""Replies, mentions, reactions, edits, revokes, polls, presence, groups and calls reach Go as WhatsApp
messages built by neonize's own builders (Go's builders are played by the fake the way whatsmeow works)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ProtocolMessage
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, text_message
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.engine import contract as c

ALICE_JID = "15557654321@s.whatsapp.net"
ALICE = build_jid("15557654321")
ALICE_LID = build_jid("987654321012345", "lid")
GROUP_JID = "120363025246125486@g.us"
GROUP = build_jid("120363025246125486", "g.us")


async def receive(session: FakeSession, recorder: Recorder, event: Any, event_name: str = "message") -> None:
    before = len(recorder.of(event_name))
    await asyncio.to_thread(session.event, 17, event)
    await recorder.wait_for(event_name, count=before + 1)


def sent(fake_go: FakeGo, index: int = -1) -> tuple[Any, Any]:
    """(recipient JID, waE2E.Message) of a SendMessage call."""
    call = fake_go.called("SendMessage")[index]
    return P.JID.FromString(call.args[1]), WAMessage.FromString(call.args[3])


async def engine_error(awaitable: Any) -> c.EngineError:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value


async def test_a_reply_quotes_the_message_and_mentions_exactly_who_it_names(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    await receive(connected, recorder, text_message("lunch at 1?", ALICE, message_id="IN1"))
    mention = "15551112222@s.whatsapp.net"
    result = await backend.handler(c.CMD_SEND_TEXT)(
        TOKEN, ALICE_JID, "yes @15551112222, not @15553334444", 0, reply_to="IN1", mentions=[mention]
    )
    assert result.pop("ref")  # what the message store keeps (test_neonize_stored_messages.py)
    assert result == {"id": "3EB0FAKE0001", "timestamp": 1_700_000_123.0}
    to, message = sent(fake_go)
    assert (to.User, to.Server) == ("15557654321", "s.whatsapp.net")
    content = message.extendedTextMessage
    assert content.text == "yes @15551112222, not @15553334444"
    context = content.contextInfo
    assert (context.stanzaID, context.participant) == ("IN1", ALICE_JID)
    assert context.quotedMessage.conversation == "lunch at 1?"
    assert list(context.mentionedJID) == [mention]  # the engine sets what it was given, nothing it guessed


async def test_mentions_without_a_reply(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    lid = "987654321012345@lid"
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, GROUP_JID, "hi @987654321012345", 0, mentions=[lid])
    to, message = sent(fake_go)
    assert to.Server == "g.us"
    assert message.extendedTextMessage.text == "hi @987654321012345"
    assert list(message.extendedTextMessage.contextInfo.mentionedJID) == [lid]
    assert not message.extendedTextMessage.contextInfo.stanzaID


async def test_a_reply_in_a_group_names_the_lid_author_by_phone(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    event = text_message("agenda?", ALICE_LID, GROUP, sender_alt=ALICE, is_group=True, message_id="G1")
    await receive(connected, recorder, event)
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, GROUP_JID, "attached", 0, reply_to="G1")
    _, message = sent(fake_go)
    context = message.extendedTextMessage.contextInfo
    assert (context.stanzaID, context.participant) == ("G1", ALICE_JID)


async def test_a_reply_to_a_lid_author_without_a_phone_names_the_lid(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    event = text_message("who am I?", ALICE_LID, GROUP, is_group=True, message_id="G2")
    event.Info.MessageSource.SenderAlt.SetInParent()  # Go sends the field, empty
    await receive(connected, recorder, event)
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, GROUP_JID, "a mystery", 0, reply_to="G2")
    context = sent(fake_go)[1].extendedTextMessage.contextInfo
    assert (context.stanzaID, context.participant) == ("G2", "987654321012345@lid")


async def test_a_reply_to_an_unknown_message_is_refused_before_anything_is_sent(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    error = await engine_error(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "hi", 0, reply_to="NOPE"))
    assert error.code == c.E_MESSAGE_NOT_FOUND
    bad = await engine_error(
        backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "hi", 0, mentions=["not a jid@"])
    )
    assert bad.code == c.E_INVALID_ARGUMENT
    assert fake_go.called("SendMessage") == fake_go.called("SendChatPresence") == []


async def test_own_messages_can_be_quoted_edited_then_revoked(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.sent_ids = ["OWN1", "REPLY1", "EDIT1", "REVOKE1"]
    assert (await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "see you at 2", 0))["id"] == "OWN1"
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "or 3", 0, reply_to="OWN1")
    _, reply = sent(fake_go)
    assert reply.extendedTextMessage.contextInfo.participant == f"{TOKEN}@s.whatsapp.net"
    assert reply.extendedTextMessage.contextInfo.quotedMessage.extendedTextMessage.text == "see you at 2"

    assert await backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "OWN1", "see you at 3") == {
        "id": "EDIT1",
        "timestamp": 1_700_000_123.0,
    }
    to, edit = sent(fake_go)
    assert to.User == "15557654321"
    protocol = edit.editedMessage.message.protocolMessage
    assert protocol.type == ProtocolMessage.MESSAGE_EDIT
    assert (protocol.key.ID, protocol.key.fromMe, protocol.key.remoteJID) == ("OWN1", True, ALICE_JID)
    assert protocol.editedMessage.conversation == "see you at 3"

    asked_before = len(fake_go.called("GetMe"))  # once per connect, for the push name
    assert (await backend.handler(c.CMD_REVOKE)(TOKEN, ALICE_JID, "OWN1"))["id"] == "REVOKE1"
    to, revoke = sent(fake_go)
    assert to.User == "15557654321"
    assert revoke.protocolMessage.type == ProtocolMessage.REVOKE
    key = revoke.protocolMessage.key
    assert (key.ID, key.fromMe, key.remoteJID, key.participant) == ("OWN1", True, ALICE_JID, "")
    # The client's revoke builder would have asked Go, which crashes an unconnected client.
    assert len(fake_go.called("GetMe")) == asked_before
    gone = await engine_error(backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "OWN1", "again"))
    assert gone.code == c.E_MESSAGE_NOT_FOUND


async def test_only_own_text_messages_in_their_chat_can_be_edited(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    await receive(connected, recorder, text_message("mine, not yours", ALICE, message_id="IN1"))
    fake_go.sent_ids = ["OWN1"]
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "hello", 0)
    sends = len(fake_go.called("SendMessage"))
    for args in (("IN1", ALICE_JID), ("OWN1", GROUP_JID), ("NOPE", ALICE_JID)):
        assert (
            await engine_error(backend.handler(c.CMD_EDIT)(TOKEN, args[1], args[0], "x"))
        ).code == c.E_MESSAGE_NOT_FOUND
        assert (
            await engine_error(backend.handler(c.CMD_REVOKE)(TOKEN, args[1], args[0]))
        ).code == c.E_MESSAGE_NOT_FOUND
    assert len(fake_go.called("SendMessage")) == sends


async def test_a_reaction_names_the_message_and_its_author(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    event = text_message("vote!", ALICE_LID, GROUP, sender_alt=ALICE, is_group=True, message_id="G1")
    await receive(connected, recorder, event)
    fake_go.sent_ids = ["R1", "R2"]
    assert (await backend.handler(c.CMD_REACT)(TOKEN, GROUP_JID, "G1", "👍", None))["id"] == "R1"
    (build,) = fake_go.called("BuildReaction")
    chat, author = P.JID.FromString(build.args[1]), P.JID.FromString(build.args[3])
    assert (chat.User, chat.Server) == ("120363025246125486", "g.us")
    assert (author.User, author.Server) == ("987654321012345", "lid")  # as WhatsApp addressed the author
    assert build.args[5:] == (b"G1", "👍".encode())
    to, message = sent(fake_go)
    assert to.Server == "g.us"
    reaction = message.reactionMessage
    assert (reaction.key.ID, reaction.key.participant, reaction.text) == ("G1", "987654321012345@lid", "👍")

    await backend.handler(c.CMD_REACT)(TOKEN, GROUP_JID, "G1", "", None)  # removes the reaction
    assert sent(fake_go)[1].reactionMessage.text == ""


async def test_reacting_to_an_unknown_message_needs_its_author(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    error = await engine_error(backend.handler(c.CMD_REACT)(TOKEN, ALICE_JID, "OLD1", "👍", None))
    assert error.code == c.E_MESSAGE_NOT_FOUND
    assert (
        await engine_error(backend.handler(c.CMD_REACT)(TOKEN, ALICE_JID, "OLD1", "no way", ALICE_JID))
    ).code == (c.E_INVALID_ARGUMENT)
    assert fake_go.called("BuildReaction") == []
    await backend.handler(c.CMD_REACT)(TOKEN, ALICE_JID, "OLD1", "🎉", ALICE_JID)
    reaction = sent(fake_go)[1].reactionMessage
    assert (reaction.key.ID, reaction.key.fromMe, reaction.text) == ("OLD1", False, "🎉")


@pytest.mark.parametrize(("multiple", "selectable"), [(False, 1), (True, 0)])
async def test_poll_creation(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, multiple: bool, selectable: int
) -> None:
    result = await backend.handler(c.CMD_SEND_POLL)(
        TOKEN, GROUP_JID, "Lunch?", ["Pizza", "Sushi", "Salad"], multiple
    )
    assert result["id"] == "3EB0FAKE0001"
    (build,) = fake_go.called("BuildPollVoteCreation")
    assert build.args[1] == b"Lunch?"
    assert list(P.ArrayString.FromString(build.args[2]).data) == ["Pizza", "Sushi", "Salad"]
    assert build.args[4] == selectable
    to, message = sent(fake_go)
    assert to.Server == "g.us"
    poll = message.pollCreationMessage
    assert (poll.name, poll.selectableOptionsCount) == ("Lunch?", selectable)
    assert [option.optionName for option in poll.options] == ["Pizza", "Sushi", "Salad"]
    assert len(message.messageContextInfo.messageSecret) == 32  # what lets votes be decrypted


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("Lunch?", ["Pizza"]),
        ("Lunch?", ["Pizza", "Pizza"]),
        ("", ["a", "b"]),
        ("Q", [str(i) for i in range(13)]),
    ],
)
async def test_a_poll_that_cannot_be_is_refused(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, question: str, options: list[str]
) -> None:
    error = await engine_error(backend.handler(c.CMD_SEND_POLL)(TOKEN, GROUP_JID, question, options, False))
    assert error.code == c.E_INVALID_ARGUMENT
    assert fake_go.called("BuildPollVoteCreation") == fake_go.called("SendMessage") == []


async def test_presence(backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo) -> None:
    await backend.handler(c.CMD_SET_PRESENCE)(TOKEN, None, "available")
    await backend.handler(c.CMD_SET_PRESENCE)(TOKEN, None, "unavailable")
    assert [call.args[1] for call in fake_go.called("SendPresence")] == [b"available", b"unavailable"]
    for state in ("composing", "recording", "paused"):
        await backend.handler(c.CMD_SET_PRESENCE)(TOKEN, ALICE_JID, state)  # type: ignore[arg-type]
    chat_states = [call.args[3:] for call in fake_go.called("SendChatPresence")]
    assert chat_states == [(0, 0), (0, 1), (1, 0)]  # composing text, composing audio, paused
    assert P.JID.FromString(fake_go.called("SendChatPresence")[0].args[1]).User == "15557654321"
    for to, state in ((None, "composing"), (ALICE_JID, "available"), (None, "asleep")):
        error = await engine_error(backend.handler(c.CMD_SET_PRESENCE)(TOKEN, to, state))  # type: ignore[arg-type]
        assert error.code == c.E_INVALID_ARGUMENT


def group_info() -> Any:
    owner = build_jid("15550001111")
    members = [
        P.GroupParticipant(JID=owner, IsAdmin=True, IsSuperAdmin=True),
        P.GroupParticipant(JID=ALICE_LID, PhoneNumber=ALICE, IsAdmin=True),
        P.GroupParticipant(JID=build_jid("111222333444555", "lid")),
    ]
    return P.GroupInfo(
        JID=GROUP,
        OwnerJID=build_jid("999888777666555", "lid"),
        OwnerPN=owner,
        GroupName=P.GroupName(Name="Team"),
        GroupTopic=P.GroupTopic(Topic="Ship it"),
        GroupCreated=1_700_000_000,
        Participants=members,
    )


async def test_groups(backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo) -> None:
    fake_go.groups = [group_info()]
    assert await backend.handler(c.CMD_LIST_GROUPS)(TOKEN) == [
        {"jid": GROUP_JID, "subject": "Team", "participants": 3}
    ]
    details = await backend.handler(c.CMD_GROUP_INFO)(TOKEN, GROUP_JID)
    assert details["createdAt"] == pytest.approx(1_700_000_000, abs=256)  # neonize sends it as a float32
    assert {**details, "createdAt": None} == {
        "jid": GROUP_JID,
        "subject": "Team",
        "topic": "Ship it",
        "owner": "15550001111@s.whatsapp.net",
        "createdAt": None,
        "participants": [
            {
                "jid": "15550001111@s.whatsapp.net",
                "phone": "15550001111",
                "isAdmin": True,
                "isSuperAdmin": True,
            },
            {"jid": ALICE_JID, "phone": "15557654321", "isAdmin": True, "isSuperAdmin": False},
            {"jid": "111222333444555@lid", "phone": None, "isAdmin": False, "isSuperAdmin": False},
        ],
    }
    (lookup,) = fake_go.called("GetGroupInfo")
    assert P.JID.FromString(lookup.args[1]).Server == "g.us"
    unknown = await engine_error(backend.handler(c.CMD_GROUP_INFO)(TOKEN, "1203630000@g.us"))
    assert unknown.code == c.E_INVALID_ARGUMENT
    not_a_group = await engine_error(backend.handler(c.CMD_GROUP_INFO)(TOKEN, ALICE_JID))
    assert not_a_group.code == c.E_INVALID_ARGUMENT
    assert len(fake_go.called("GetGroupInfo")) == 2


async def test_a_call_is_rejected_as_whatsapp_addressed_the_caller(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    meta = P.BasicCallMeta(**{"from": ALICE_LID}, timestamp=1_700_000_200, callCreator=ALICE_LID, callID="C1")
    meta.callCreatorAlt.CopyFrom(ALICE)
    await asyncio.to_thread(connected.event, 36, P.CallOffer(basicCallMeta=meta))
    offer = await recorder.wait_for("call_offer")
    await backend.handler(c.CMD_REJECT_CALL)(TOKEN, offer["from"], offer["callId"])
    await backend.handler(c.CMD_REJECT_CALL)(
        TOKEN, ALICE_JID, "C2"
    )  # a call the engine did not see: the JID as given
    first, second = fake_go.called("RejectCall")
    assert P.JID.FromString(first.args[1]).Server == "lid" and first.args[3] == b"C1"
    assert P.JID.FromString(second.args[1]).Server == "s.whatsapp.net" and second.args[3] == b"C2"


async def test_every_command_needs_a_connected_device(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    commands = [
        lambda: backend.handler(c.CMD_REACT)(TOKEN, ALICE_JID, "X", "👍", ALICE_JID),
        lambda: backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "X", "t"),
        lambda: backend.handler(c.CMD_REVOKE)(TOKEN, ALICE_JID, "X"),
        lambda: backend.handler(c.CMD_SEND_POLL)(TOKEN, ALICE_JID, "Q", ["a", "b"], False),
        lambda: backend.handler(c.CMD_SET_PRESENCE)(TOKEN, None, "available"),
        lambda: backend.handler(c.CMD_LIST_GROUPS)(TOKEN),
        lambda: backend.handler(c.CMD_GROUP_INFO)(TOKEN, GROUP_JID),
        lambda: backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "X"),
        lambda: backend.handler(c.CMD_REJECT_CALL)(TOKEN, ALICE_JID, "C1"),
    ]
    for command in commands:
        assert (await engine_error(command())).code == c.E_DEVICE_NOT_FOUND
    await backend.connect(TOKEN, "qr", "")
    await recorder.wait_for("qr")
    for command in commands:
        assert (await engine_error(command())).code == c.E_DEVICE_NOT_CONNECTED
    assert [call.name for call in fake_go.calls] == ["Neonize"]
