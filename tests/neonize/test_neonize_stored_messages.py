"""Quoting, editing, revoking and downloading a message the worker no longer holds, from the ``ref`` the
message store kept of it (docs/messages.md "Acting on stored messages").

The cache is dropped between receiving (or sending) a message and acting on it, which is all a worker
restart loses; the edit, revoke, reply and download then reach Go built by neonize's own builders from the
ref alone, carrying the fields whatsmeow needs (send.go BuildEdit/BuildRevoke, ContextInfo of a quote,
download.go Download)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ImageMessage, ProtocolMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import Conversation, HistorySync
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, text_message
from tests.neonize.test_neonize_history_messages import entry
from tests.neonize.test_neonize_media import image_event, outgoing, png
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

ALICE_JID = "15557654321@s.whatsapp.net"
GROUP_JID = "120363025246125486@g.us"
BOB_JID = "15551112222@s.whatsapp.net"


async def engine_error(awaitable: Any) -> c.EngineError:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value


def forget_everything(backend: NeonizeBackend) -> None:
    """What a worker restart loses: the cache of every message."""
    backend.context.caches.drop(TOKEN)
    assert len(backend.context.caches.of(TOKEN)) == 0


def last_sent(fake_go: FakeGo) -> tuple[P.JID, WAMessage]:
    call = fake_go.called("SendMessage")[-1]
    return P.JID.FromString(call.args[1]), WAMessage.FromString(call.args[3])


async def received(session: FakeSession, recorder: Recorder, event: Any) -> dict[str, Any]:
    before = len(recorder.of("message"))
    await asyncio.to_thread(session.event, nc.MESSAGE, event)
    await recorder.wait_for("message", count=before + 1)
    message: dict[str, Any] = recorder.of("message")[-1]
    return message


async def test_an_incoming_image_downloads_and_is_quoted_from_its_ref_alone(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    fake_go.downloads["/v/t62/abc"] = b"JPEG!"
    event = image_event(
        "IMG1",
        "/v/t62/abc",
        caption="look",
        fileEncSHA256=b"e" * 32,
        fileSHA256=b"s" * 32,
        URL="https://mmg.whatsapp.net/v/t62/abc",
        JPEGThumbnail=b"T" * 4000,
    )
    ref = (await received(connected, recorder, event))["ref"]
    kept = P.Message.FromString(base64.b64decode(ref)).Message.imageMessage
    assert not kept.JPEGThumbnail, "a ref keeps the media's keys, not its thumbnail"
    assert len(ref) < 1000
    forget_everything(backend)
    download = backend.handler(c.CMD_DOWNLOAD_MEDIA)
    assert (await engine_error(download(TOKEN, "IMG1"))).code == c.E_MESSAGE_NOT_FOUND

    result = await download(TOKEN, "IMG1", ref=ref)
    assert (result["mimetype"], result["size"]) == ("image/jpeg", 5)
    assert await asyncio.to_thread(Path(result["path"]).read_bytes) == b"JPEG!"
    (call,) = fake_go.called("DownloadAny")
    asked = WAMessage.FromString(call.args[1]).imageMessage
    original = event.Message.imageMessage
    for name in ("directPath", "mediaKey", "fileEncSHA256", "fileSHA256", "fileLength", "mimetype", "URL"):
        assert getattr(asked, name) == getattr(original, name), name

    forget_everything(backend)
    await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "nice!", 0, reply_to="IMG1", reply_ref=ref)
    to, reply = last_sent(fake_go)
    assert to.User == "15557654321"
    context = reply.extendedTextMessage.contextInfo
    assert (context.stanzaID, context.participant) == ("IMG1", ALICE_JID)
    assert context.quotedMessage.imageMessage.directPath == "/v/t62/abc"
    assert context.quotedMessage.imageMessage.caption == "look"


async def test_own_messages_are_edited_and_revoked_from_their_refs(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    fake_go.sent_ids = ["TXT1", "IMG1", "EDIT1", "EDIT2", "REVOKE1"]
    text = await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "see you at 5", 0)
    image = c.OutgoingMedia("image", outgoing(settings, "p.png", png()), "image/png", caption="old")
    photo = await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, image, 0)
    _, original = last_sent(fake_go)
    forget_everything(backend)
    edit, revoke = backend.handler(c.CMD_EDIT), backend.handler(c.CMD_REVOKE)
    assert (await engine_error(edit(TOKEN, ALICE_JID, "TXT1", "at 6"))).code == c.E_MESSAGE_NOT_FOUND

    assert (await edit(TOKEN, ALICE_JID, "TXT1", "at 6", ref=text["ref"]))["id"] == "EDIT1"
    to, sent = last_sent(fake_go)
    protocol = sent.editedMessage.message.protocolMessage
    assert to.User == "15557654321" and protocol.type == ProtocolMessage.MESSAGE_EDIT
    assert (protocol.key.ID, protocol.key.fromMe, protocol.key.remoteJID) == ("TXT1", True, ALICE_JID)
    assert protocol.editedMessage.conversation == "at 6"

    forget_everything(backend)
    await edit(TOKEN, ALICE_JID, "IMG1", "new caption", ref=photo["ref"])
    _, sent = last_sent(fake_go)
    edited = sent.editedMessage.message.protocolMessage.editedMessage.imageMessage
    assert edited.caption == "new caption"
    assert (edited.directPath, edited.mediaKey) == (
        original.imageMessage.directPath,
        original.imageMessage.mediaKey,
    )

    forget_everything(backend)
    assert (await revoke(TOKEN, ALICE_JID, "TXT1", ref=text["ref"]))["id"] == "REVOKE1"
    _, sent = last_sent(fake_go)
    assert sent.protocolMessage.type == ProtocolMessage.REVOKE
    key = sent.protocolMessage.key
    assert (key.ID, key.fromMe, key.remoteJID, key.participant) == ("TXT1", True, ALICE_JID, "")


async def test_a_ref_acts_only_on_the_message_it_names_and_as_the_cache_would(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    incoming = await received(
        connected, recorder, text_message("hi", build_jid("15557654321"), message_id="IN1")
    )
    fake_go.sent_ids = ["OUT1"]
    own = await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE_JID, "hello", 0)
    forget_everything(backend)
    sends = len(fake_go.called("SendMessage"))
    edit, revoke = backend.handler(c.CMD_EDIT), backend.handler(c.CMD_REVOKE)
    refused = [
        edit(TOKEN, ALICE_JID, "IN1", "mine now", ref=incoming["ref"]),  # somebody else's message
        revoke(TOKEN, ALICE_JID, "IN1", ref=incoming["ref"]),
        edit(TOKEN, ALICE_JID, "OTHER", "x", ref=own["ref"]),  # the ref of another message
        edit(TOKEN, GROUP_JID, "OUT1", "x", ref=own["ref"]),  # in another chat
        edit(TOKEN, ALICE_JID, "OUT1", "x", ref="not base64!"),
        edit(TOKEN, ALICE_JID, "OUT1", "x", ref=base64.b64encode(b"\xff\x00garbage").decode()),
        backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "IN1", ref=incoming["ref"]),
    ]
    codes = []
    for attempt in refused:
        codes.append((await engine_error(attempt)).code)
    assert codes == [c.E_MESSAGE_NOT_FOUND] * 6 + [c.E_INVALID_ARGUMENT]  # a text has no media
    assert len(fake_go.called("SendMessage")) == sends, "nothing refused reached WhatsApp"


async def test_a_history_message_is_downloaded_and_quoted_from_its_ref(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    fake_go.downloads["/v/t62/old"] = b"OLD!"
    photo = WAMessage(
        imageMessage=ImageMessage(
            directPath="/v/t62/old", mimetype="image/jpeg", fileLength=4, mediaKey=b"h" * 32, caption="2019"
        )
    )
    data = HistorySync(
        syncType=HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        conversations=[
            Conversation(ID=GROUP_JID, messages=[entry(GROUP_JID, "G1", photo, participant=BOB_JID)])
        ],
    )
    await asyncio.to_thread(connected.event, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    (message,) = (await recorder.wait_for("history_sync"))["messages"]
    assert len(backend.context.caches.of(TOKEN)) == 0, "history is not cached: the store keeps it"

    result = await backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "G1", ref=message["ref"])
    assert await asyncio.to_thread(Path(result["path"]).read_bytes) == b"OLD!"
    (call,) = fake_go.called("DownloadAny")
    assert WAMessage.FromString(call.args[1]).imageMessage.mediaKey == b"h" * 32

    forget_everything(backend)
    await backend.handler(c.CMD_SEND_TEXT)(
        TOKEN, GROUP_JID, "memories", 0, reply_to="G1", reply_ref=message["ref"]
    )
    to, reply = last_sent(fake_go)
    context = reply.extendedTextMessage.contextInfo
    assert to.Server == "g.us"
    assert (context.stanzaID, context.participant) == ("G1", BOB_JID)
    assert context.quotedMessage.imageMessage.caption == "2019"
