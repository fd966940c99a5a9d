"""Hand-built incoming protobufs (media, reactions, edits, revokes, votes, calls) become contract events."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ContextInfo,
    DocumentMessage,
    FutureProofMessage,
    ImageMessage,
    PollCreationMessage,
    PollEncValue,
    PollUpdateMessage,
    ProtocolMessage,
    ReactionMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, text_message
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c
from wa_gateway.worker.message_cache import CachedMessage

ALICE_JID = "15557654321@s.whatsapp.net"
ALICE = build_jid("15557654321")
ALICE_LID = build_jid("987654321012345", "lid")
GROUP = build_jid("120363025246125486", "g.us")
ABOUT_ALICE = {
    "from": ALICE_JID,
    "isGroup": False,
    "senderPhone": "15557654321",
    "timestamp": 1_700_000_000.123,
}


def event_with(content: Any, message_id: str = "IN1", **options: Any) -> Any:
    event = text_message("", options.pop("sender", ALICE), message_id=message_id, **options)
    event.Message.CopyFrom(content)
    return event


async def deliver(session: FakeSession, *events: Any) -> None:
    for event in events:
        await asyncio.to_thread(session.event, nc.MESSAGE, event)


async def settle(session: FakeSession, recorder: Recorder) -> None:
    """Events are handled in order: once a marker message is through, everything before it is too."""
    before = len(recorder.of("message"))
    await deliver(session, text_message("marker", ALICE, message_id=f"MARKER{before}"))
    await recorder.wait_for("message", count=before + 1)
    recorder.events.pop()


async def test_an_image_carries_its_caption_media_quote_and_mentions(
    connected: FakeSession, recorder: Recorder
) -> None:
    context = ContextInfo(stanzaID="OLD1", participant=ALICE_JID, mentionedJID=["987654321012345@lid"])
    # Alice's LID is learnt from this group message's SenderAlt; the mention is then named by phone.
    first = text_message("hi", ALICE_LID, GROUP, sender_alt=ALICE, is_group=True, message_id="G0")
    image = ImageMessage(caption="look", mimetype="image/jpeg", fileLength=2048, contextInfo=context)
    await deliver(connected, first, event_with(WAMessage(imageMessage=image)))
    data = await recorder.wait_for("message", count=2)
    assert data["type"] == "image"
    assert (data["text"], data["caption"]) == ("look", "look")
    assert data["media"] == {"mimetype": "image/jpeg", "size": 2048, "filename": None}
    assert (data["replyTo"], data["mentions"]) == ("OLD1", [ALICE_JID])


@pytest.mark.parametrize(
    ("content", "kind", "media"),
    [
        (
            WAMessage(audioMessage=AudioMessage(PTT=True, mimetype="audio/ogg; codecs=opus", fileLength=9)),
            "voice",
            {"mimetype": "audio/ogg; codecs=opus", "size": 9, "filename": None},
        ),
        (
            WAMessage(audioMessage=AudioMessage(mimetype="audio/mpeg", fileLength=7)),
            "audio",
            {"mimetype": "audio/mpeg", "size": 7, "filename": None},
        ),
        (
            WAMessage(
                documentWithCaptionMessage=FutureProofMessage(
                    message=WAMessage(
                        documentMessage=DocumentMessage(
                            caption="Q3", fileName="report.pdf", mimetype="application/pdf", fileLength=5
                        )
                    )
                )
            ),
            "document",
            {"mimetype": "application/pdf", "size": 5, "filename": "report.pdf"},
        ),
    ],
)
async def test_media_kinds(
    connected: FakeSession, recorder: Recorder, content: Any, kind: str, media: dict[str, Any]
) -> None:
    await deliver(connected, event_with(content))
    data = await recorder.wait_for("message")
    assert (data["type"], data["media"]) == (kind, media)


async def test_a_text_message_has_no_media_quote_or_mentions(
    connected: FakeSession, recorder: Recorder
) -> None:
    await deliver(connected, text_message("plain", ALICE))
    data = await recorder.wait_for("message")
    assert (data["caption"], data["media"], data["replyTo"], data["mentions"]) == (None, None, None, [])


async def test_a_reaction_is_its_own_event(connected: FakeSession, recorder: Recorder) -> None:
    for emoji, reaction_id in (("👍", "R1"), ("", "R2")):
        key = MessageKey(remoteJID=ALICE_JID, fromMe=True, ID="OWN1")
        await deliver(
            connected,
            event_with(WAMessage(reactionMessage=ReactionMessage(key=key, text=emoji)), reaction_id),
        )
    await recorder.wait_for("reaction", count=2)
    await settle(connected, recorder)
    assert recorder.of("message") == []
    assert recorder.of("reaction") == [
        {"id": "R1", "chat": ALICE_JID, "targetId": "OWN1", "emoji": "👍", **ABOUT_ALICE},
        {"id": "R2", "chat": ALICE_JID, "targetId": "OWN1", "emoji": "", **ABOUT_ALICE},  # removed
    ]


async def test_an_edit_and_a_revoke(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder, fake_go: FakeGo
) -> None:
    await deliver(connected, text_message("see you at 2", ALICE, message_id="IN1"))
    await recorder.wait_for("message")
    edit = ProtocolMessage(
        type=ProtocolMessage.MESSAGE_EDIT,
        key=MessageKey(remoteJID=ALICE_JID, ID="IN1"),
        editedMessage=WAMessage(conversation="see you at 3"),
    )
    # whatsmeow hands edits over wrapped in editedMessage, as the sender's phone built them.
    await deliver(
        connected,
        event_with(
            WAMessage(editedMessage=FutureProofMessage(message=WAMessage(protocolMessage=edit))), "E1"
        ),
    )
    assert await recorder.wait_for("message_edited") == {
        "id": "IN1",
        "chat": ALICE_JID,
        "text": "see you at 3",
        **ABOUT_ALICE,
    }
    assert backend.context.caches.of(TOKEN).find("IN1").text == "see you at 3"

    revoke = ProtocolMessage(type=ProtocolMessage.REVOKE, key=MessageKey(remoteJID=ALICE_JID, ID="IN1"))
    await deliver(connected, event_with(WAMessage(protocolMessage=revoke), "X1"))
    assert await recorder.wait_for("message_revoked") == {"id": "IN1", "chat": ALICE_JID, **ABOUT_ALICE}
    with pytest.raises(c.EngineError) as gone:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "quoting it", 0, reply_to="IN1")
    assert gone.value.code == c.E_MESSAGE_NOT_FOUND
    await settle(connected, recorder)
    assert [data["id"] for data in recorder.of("message")] == ["IN1"]  # neither became a message


def vote_for(poll_id: str, voter: Any = ALICE) -> Any:
    update = PollUpdateMessage(
        pollCreationMessageKey=MessageKey(remoteJID="120363025246125486@g.us", ID=poll_id, fromMe=True),
        vote=PollEncValue(encPayload=b"ciphertext", encIV=b"iv" * 6),
    )
    return event_with(
        WAMessage(pollUpdateMessage=update), f"V-{poll_id}", sender=voter, chat=GROUP, is_group=True
    )


async def test_votes_on_our_poll_are_decrypted_and_named(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder, fake_go: FakeGo
) -> None:
    fake_go.sent_ids = ["POLL1"]
    await backend.handler(c.CMD_SEND_POLL)(
        TOKEN, "120363025246125486@g.us", "Lunch?", ["Pizza", "Sushi", "Salad"], True
    )
    fake_go.poll_votes = [hashlib.sha256(b"Sushi").digest(), hashlib.sha256(b"Salad").digest()]
    await deliver(connected, vote_for("POLL1"))
    vote = await recorder.wait_for("poll_vote")
    assert vote == {
        "pollId": "POLL1",
        "options": ["Sushi", "Salad"],
        "chat": "120363025246125486@g.us",
        "from": ALICE_JID,
        "timestamp": 1_700_000_000.123,
        "isGroup": True,
        "senderPhone": "15557654321",
    }
    (decrypt,) = fake_go.called("DecryptPollVote")
    assert P.Message.FromString(decrypt.args[1]).Info.ID == "V-POLL1"  # Go needs the whole event

    fake_go.poll_votes = []
    await deliver(connected, vote_for("POLL1"))
    assert (await recorder.wait_for("poll_vote", count=2))["options"] == []  # the vote was withdrawn


async def test_votes_on_polls_others_sent_and_on_polls_no_longer_held(
    connected: FakeSession, recorder: Recorder, fake_go: FakeGo
) -> None:
    poll = PollCreationMessage(
        name="When?",
        options=[PollCreationMessage.Option(optionName=o) for o in ("Mon", "Tue")],
        selectableOptionsCount=1,
    )
    await deliver(connected, event_with(WAMessage(pollCreationMessage=poll), "THEIRS"))
    created = await recorder.wait_for("message")
    assert (created["type"], created["text"]) == ("poll", "When?")
    tuesday = hashlib.sha256(b"Tue").digest()
    fake_go.poll_votes = [tuesday]
    await deliver(connected, vote_for("THEIRS"), vote_for("FORGOTTEN"))
    await recorder.wait_for("poll_vote", count=2)
    assert [vote["options"] for vote in recorder.of("poll_vote")] == [["Tue"], [tuesday.hex()]]

    fake_go.poll_vote_error = "failed to decrypt: no secret"
    await deliver(connected, vote_for("THEIRS"))
    await settle(connected, recorder)
    assert len(recorder.of("poll_vote")) == 2


async def test_video_and_group_calls(connected: FakeSession, recorder: Recorder) -> None:
    meta = P.BasicCallMeta(**{"from": ALICE}, timestamp=1_700_000_200, callCreator=ALICE, callID="V1")
    offer_node = P.Node(Tag="offer", Nodes=[P.Node(Tag="audio"), P.Node(Tag="video")])
    await asyncio.to_thread(connected.event, nc.CALL_OFFER, P.CallOffer(basicCallMeta=meta, data=offer_node))
    notice_meta = P.BasicCallMeta(**{"from": ALICE}, timestamp=1_700_000_300, callCreator=ALICE, callID="G1")
    notice = P.CallOfferNotice(basicCallMeta=notice_meta, media="audio", type="group")
    await asyncio.to_thread(connected.event, nc.CALL_OFFER_NOTICE, notice)
    await recorder.wait_for("call_offer", count=2)
    assert recorder.of("call_offer") == [
        {"from": ALICE_JID, "callId": "V1", "timestamp": 1_700_000_200.0, "isVideo": True, "isGroup": False},
        {"from": ALICE_JID, "callId": "G1", "timestamp": 1_700_000_300.0, "isVideo": False, "isGroup": True},
    ]


async def test_the_message_cache_size_comes_from_the_config(tmp_path: Path) -> None:
    settings = NeonizeSettings.from_config({"data_dir": str(tmp_path), "message_cache_size": 3})
    backend = NeonizeBackend(settings, gocode=FakeGo())
    try:
        cache = backend.context.caches.of(TOKEN)
        for n in range(5):
            cache.put(
                CachedMessage(
                    id=f"M{n}", chat=ALICE_JID, sender=ALICE_JID, from_me=False, kind="text", timestamp=n
                )
            )
        assert [cache.get(f"M{n}") is not None for n in range(5)] == [False, False, True, True, True]
    finally:
        await backend.close()
    with pytest.raises(ValueError, match="message_cache_size"):
        NeonizeSettings.from_config({"data_dir": str(tmp_path), "message_cache_size": 0})
