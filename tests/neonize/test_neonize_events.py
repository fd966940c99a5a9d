"""Hand-built neonize protobuf events, sent through the real ctypes callback, become contract events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AlbumMessage,
    DocumentMessage,
    EventMessage,
    ExtendedTextMessage,
    FutureProofMessage,
    ImageMessage,
    PollCreationMessage,
    ProtocolMessage,
    VideoMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (
    Conversation,
    HistorySync,
    PhoneNumberToLIDMapping,
    Pushname,
)
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import (
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    make_paired_db,
    text_message,
)
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize.engine import NeonizeBackend

ALICE = build_jid("15557654321")
ALICE_LID = build_jid("987654321012345", "lid")
GROUP = build_jid("120363025246125486", "g.us")


@pytest.fixture
async def online(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> AsyncIterator[FakeSession]:
    """A connected, paired device; yields Go's side of its session."""
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    session = await fake_go.next_session()
    await recorder.wait_for("connected")
    yield session


async def send(session: FakeSession, code: int, event: Any) -> None:
    await asyncio.to_thread(session.event, code, event)


async def settle(session: FakeSession, recorder: Recorder) -> None:
    """Items are handled in order: once a later marker is through, everything before it is too."""
    before = len(recorder.of("message"))
    marker = text_message("marker", ALICE, message_id=f"MARKER{before}")
    await send(session, nc.MESSAGE, marker)
    await recorder.wait_for("message", count=before + 1)
    assert recorder.events[-1][2]["id"] == f"MARKER{before}"
    recorder.events.pop()


async def test_a_text_message(online: FakeSession, recorder: Recorder) -> None:
    await send(online, nc.MESSAGE, text_message("hello from Alice", ALICE))
    message = await recorder.wait_for("message", TOKEN)
    assert message.pop("ref")  # what the message store keeps (test_neonize_stored_messages.py)
    assert message == {
        "id": "3EB0INCOMING01",
        "from": "15557654321@s.whatsapp.net",
        "chat": "15557654321@s.whatsapp.net",
        "pushName": "Alice",
        "text": "hello from Alice",
        "type": "text",
        "timestamp": 1_700_000_000.123,
        "isGroup": False,
        "fromMe": False,
        "senderPhone": "15557654321",
        "caption": None,
        "media": None,
        "replyTo": None,
        "mentions": [],
    }


async def test_a_group_message_from_a_lid_sender_is_attributed_to_the_phone(
    online: FakeSession, recorder: Recorder
) -> None:
    event = text_message("", ALICE_LID, GROUP, sender_alt=ALICE, is_group=True, message_id="G1")
    event.Message.Clear()
    event.Message.extendedTextMessage.CopyFrom(ExtendedTextMessage(text="hi group"))
    await send(online, nc.MESSAGE, event)
    data = await recorder.wait_for("message")
    assert (data["from"], data["senderPhone"], data["chat"]) == (
        "15557654321@s.whatsapp.net",
        "15557654321",
        "120363025246125486@g.us",
    )
    assert (data["text"], data["type"], data["isGroup"]) == ("hi group", "text", True)
    # The mapping learnt from SenderAlt also serves a later message without it.
    await send(online, nc.MESSAGE, text_message("again", ALICE_LID, message_id="G2"))
    assert (await recorder.wait_for("message", count=2))["senderPhone"] == "15557654321"


async def test_a_lid_sender_nobody_mapped_keeps_its_lid(online: FakeSession, recorder: Recorder) -> None:
    await send(online, nc.MESSAGE, text_message("who?", build_jid("111222333444555", "lid")))
    data = await recorder.wait_for("message")
    assert (data["from"], data["senderPhone"]) == ("111222333444555@lid", "")


@pytest.mark.parametrize(
    ("content", "text", "kind"),
    [
        (WAMessage(imageMessage=ImageMessage(caption="a photo")), "a photo", "image"),
        (WAMessage(videoMessage=VideoMessage(caption="a clip")), "a clip", "video"),
        (WAMessage(documentMessage=DocumentMessage(caption="the report")), "the report", "document"),
        (
            WAMessage(
                documentWithCaptionMessage=FutureProofMessage(
                    message=WAMessage(documentMessage=DocumentMessage(caption="wrapped"))
                )
            ),
            "wrapped",
            "document",
        ),
        (
            WAMessage(ephemeralMessage=FutureProofMessage(message=WAMessage(conversation="fading"))),
            "fading",
            "text",
        ),
        (WAMessage(imageMessage=ImageMessage(mimetype="image/jpeg")), "", "image"),
    ],
)
async def test_text_comes_from_every_text_bearing_type(
    online: FakeSession, recorder: Recorder, content: Any, text: str, kind: str
) -> None:
    event = text_message("", ALICE)
    event.Message.CopyFrom(content)
    await send(online, nc.MESSAGE, event)
    data = await recorder.wait_for("message")
    assert (data["text"], data["type"]) == (text, kind)


async def test_signalling_messages_are_not_messages(online: FakeSession, recorder: Recorder) -> None:
    event = text_message("", ALICE, message_id="PROTO")
    event.Message.CopyFrom(WAMessage(protocolMessage=ProtocolMessage(key=MessageKey(ID="X"))))
    await send(online, nc.MESSAGE, event)
    await settle(online, recorder)
    assert recorder.of("message") == []


async def test_an_unknown_kind_of_message_is_still_reported(online: FakeSession, recorder: Recorder) -> None:
    event = text_message("", ALICE)
    event.Message.Clear()
    event.Message.requestPhoneNumberMessage.SetInParent()
    await send(online, nc.MESSAGE, event)
    assert (await recorder.wait_for("message"))["type"] == "unknown"


def receipt_event(
    kind: Any | None, *, sender: Any = ALICE, alt: Any | None = None, from_me: bool = False
) -> Any:
    source = P.MessageSource(Chat=sender, Sender=sender, IsFromMe=from_me, IsGroup=False)
    if alt is not None:
        source.SenderAlt.CopyFrom(alt)
    event = P.Receipt(MessageSource=source, MessageIDs=["3EB0AAA", "3EB0BBB"], Timestamp=1_700_000_100)
    if kind is not None:
        event.Type = kind
    return event


async def test_receipts_are_normalised_and_the_rest_dropped(online: FakeSession, recorder: Recorder) -> None:
    kinds = P.Receipt.ReceiptType
    for dropped in (
        receipt_event(kinds.READ_SELF),
        receipt_event(kinds.PLAYED_SELF),
        receipt_event(kinds.SERVER_ERROR),  # what neonize's Go encoder makes of whatsmeow's PlayedSelf
        receipt_event(kinds.SENDER),
        receipt_event(kinds.RETRY),
        receipt_event(kinds.INACTIVE),
        receipt_event(kinds.READ, from_me=True),
    ):
        await send(online, nc.RECEIPT, dropped)
    for kept in (kinds.DELIVERED, kinds.READ, kinds.PLAYED):
        await send(online, nc.RECEIPT, receipt_event(kept, sender=ALICE_LID, alt=ALICE))
    await recorder.wait_for("receipt", count=3)
    await settle(online, recorder)
    assert recorder.of("receipt") == [
        {
            "type": kind,
            "messageIds": ["3EB0AAA", "3EB0BBB"],
            "from": "15557654321@s.whatsapp.net",
            "chat": "987654321012345@lid",
            "timestamp": 1_700_000_100.0,
        }
        for kind in ("delivered", "read", "played")
    ]


async def test_history_sync_gives_named_one_to_one_contacts_and_learns_lids(
    online: FakeSession, recorder: Recorder
) -> None:
    data = HistorySync(
        syncType=HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        pushnames=[
            Pushname(ID="15551112222@s.whatsapp.net", pushname="Bob"),
            Pushname(ID="15557654321@s.whatsapp.net", pushname="Ali"),
        ],
        conversations=[
            Conversation(ID="15557654321@s.whatsapp.net", name="Alice Smith"),
            Conversation(ID="15551112222@s.whatsapp.net"),
            Conversation(ID="120363025246125486@g.us", name="Team"),
            Conversation(ID="status@broadcast"),
            Conversation(ID="987654321012345@lid", pnJID="15553334444@s.whatsapp.net", displayName="Carol"),
            Conversation(ID="555666777888999@lid", displayName="Dave"),
            Conversation(ID=f"{TOKEN}@s.whatsapp.net", name="Me"),
        ],
        phoneNumberToLidMappings=[
            PhoneNumberToLIDMapping(pnJID="15559990000@s.whatsapp.net", lidJID="555666777888999@lid")
        ],
    )
    await send(online, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    assert await recorder.wait_for("history_sync") == {
        "contacts": [
            {"phone": "15557654321", "name": "Alice Smith"},
            {"phone": "15551112222", "name": "Bob"},
            {"phone": "15553334444", "name": "Carol"},
            {"phone": "15559990000", "name": "Dave"},
        ]
    }
    await send(online, nc.MESSAGE, text_message("hi", build_jid("555666777888999", "lid")))
    assert (await recorder.wait_for("message"))["senderPhone"] == "15559990000"


async def test_a_history_sync_without_people_emits_nothing(online: FakeSession, recorder: Recorder) -> None:
    data = HistorySync(
        syncType=HistorySync.HistorySyncType.PUSH_NAME, conversations=[Conversation(ID="1@g.us")]
    )
    await send(online, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    await settle(online, recorder)
    assert recorder.of("history_sync") == []


async def test_a_call_offer(online: FakeSession, recorder: Recorder) -> None:
    meta = P.BasicCallMeta(
        **{"from": ALICE_LID}, timestamp=1_700_000_200, callCreator=ALICE_LID, callID="CALL1"
    )
    meta.callCreatorAlt.CopyFrom(ALICE)
    offer = P.CallOffer(basicCallMeta=meta, callRemoteMeta=P.CallRemoteMeta(remotePlatform="android"))
    await send(online, nc.CALL_OFFER, offer)
    assert await recorder.wait_for("call_offer") == {
        "from": "15557654321@s.whatsapp.net",
        "callId": "CALL1",
        "timestamp": 1_700_000_200.0,
        "isVideo": False,
        "isGroup": False,
    }


async def test_events_keep_go_order_even_when_handling_awaits(
    online: FakeSession, recorder: Recorder
) -> None:
    def burst() -> None:
        for index in range(60):
            if index % 10 == 0:  # a history blob in the middle takes longer to handle
                data = HistorySync(conversations=[Conversation(ID=f"1555000{index:04d}@s.whatsapp.net")])
                online.event(nc.HISTORY_SYNC, P.HistorySync(Data=data))
            online.event(nc.MESSAGE, text_message(str(index), ALICE, message_id=f"M{index}"))

    await asyncio.to_thread(burst)
    await recorder.wait_for("message", count=60)
    assert [data["id"] for data in recorder.of("message")] == [f"M{index}" for index in range(60)]


async def test_an_event_go_cannot_describe_is_ignored(online: FakeSession, recorder: Recorder) -> None:
    await asyncio.to_thread(online.event, 99, P.Connected(status=True))
    await asyncio.to_thread(online.event, nc.MESSAGE, P.Connected(status=True))  # garbage for a Message
    await settle(online, recorder)
    assert [event for _, event, _ in recorder.events] == ["connected"]


def test_jid_helpers() -> None:
    jid = translate.parse_jid("15557654321:12@s.whatsapp.net")
    assert (jid.User, jid.Device, jid.Server) == ("15557654321", 12, "s.whatsapp.net")
    assert translate.jid_string(jid) == "15557654321@s.whatsapp.net"
    assert translate.full_jid_string(jid) == "15557654321:12@s.whatsapp.net"
    assert translate.jid_string(translate.parse_jid("15557654321")) == "15557654321@s.whatsapp.net"
    assert translate.bare_jid_string("1555.1:3@s.whatsapp.net") == "1555@s.whatsapp.net"
    assert translate.phone_of("987654321012345@lid") == ""
    for bad in ("", "@s.whatsapp.net", "1555:x@s.whatsapp.net", "a b@s.whatsapp.net"):
        with pytest.raises(ValueError):
            translate.parse_jid(bad)
    assert translate.seconds(1_700_000_000_500) == 1_700_000_000.5
    assert translate.seconds(1_700_000_000) == 1_700_000_000.0


async def test_a_protocol_message_without_a_type_is_no_revoke_and_an_album_parent_is_silent(
    online: FakeSession, recorder: Recorder
) -> None:
    untyped = text_message("", ALICE, message_id="PROTO")
    untyped.Message.CopyFrom(WAMessage(protocolMessage=ProtocolMessage(key=MessageKey(ID="3EB0AAA"))))
    album = text_message("", ALICE, message_id="ALBUM")
    album.Message.CopyFrom(WAMessage(albumMessage=AlbumMessage(expectedImageCount=2)))
    for event in (untyped, album):
        await send(online, nc.MESSAGE, event)
    await settle(online, recorder)
    assert recorder.of("message_revoked") == [] and recorder.of("message") == []


@pytest.mark.parametrize("field", ["pollCreationMessageV5", "pollCreationMessageV6"])
async def test_newer_polls_are_polls(online: FakeSession, recorder: Recorder, field: str) -> None:
    event = text_message("", ALICE)
    poll = PollCreationMessage(name="Lunch?", options=[PollCreationMessage.Option(optionName="yes")])
    event.Message.CopyFrom(WAMessage(**{field: poll}))
    await send(online, nc.MESSAGE, event)
    data = await recorder.wait_for("message")
    assert (data["type"], data["text"]) == ("poll", "Lunch?")


async def test_an_event_invitation_reads_as_its_name(online: FakeSession, recorder: Recorder) -> None:
    event = text_message("", ALICE)
    event.Message.CopyFrom(WAMessage(eventMessage=EventMessage(name="Launch party")))
    await send(online, nc.MESSAGE, event)
    data = await recorder.wait_for("message")
    assert (data["type"], data["text"]) == ("text", "Launch party")


async def test_a_status_post_is_not_a_group_message(online: FakeSession, recorder: Recorder) -> None:
    status = build_jid("status", "broadcast")
    await send(online, nc.MESSAGE, text_message("my day", ALICE, status, is_group=True))
    data = await recorder.wait_for("message")
    assert (data["chat"], data["isGroup"]) == ("status@broadcast", False)


async def test_learned_lids_survive_a_restart_of_the_device(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    mapping = PhoneNumberToLIDMapping(pnJID="15559990000@s.whatsapp.net", lidJID="555666777888999@lid")
    data = HistorySync(
        syncType=HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, phoneNumberToLidMappings=[mapping]
    )
    await send(online, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    await settle(online, recorder)
    await backend.disconnect(TOKEN)  # the in-memory map goes with the device
    await backend.connect(TOKEN, "restore", "")
    again = await fake_go.next_session()
    await recorder.wait_for("connected", count=2)
    await send(again, nc.MESSAGE, text_message("hi", build_jid("555666777888999", "lid"), message_id="AFTER"))
    message = await recorder.wait_for("message")
    assert (message["id"], message["senderPhone"]) == ("AFTER", "15559990000")
