"""Status posts through neonize: messages to status@broadcast without typing, and a contact's status
arriving as a message in that chat (which the gateway turns into status.received)."""

from __future__ import annotations

import asyncio

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ExtendedTextMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, text_message
from tests.neonize.test_neonize_media import outgoing, png
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

ALICE = build_jid("15557654321")


def last_sent(fake_go: FakeGo) -> tuple[P.JID, WAMessage]:
    call = fake_go.called("SendMessage")[-1]
    return P.JID.FromString(call.args[1]), WAMessage.FromString(call.args[3])


async def test_a_text_status_goes_to_status_broadcast_with_its_colours_and_font(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.sent_ids = ["ST1"]
    result = await backend.handler(c.CMD_POST_STATUS)(TOKEN, "Open 9-5", 0xFF25D366, 2)
    assert result == {"id": "ST1", "timestamp": 1_700_000_123.0}
    to, message = last_sent(fake_go)
    assert (to.User, to.Server) == ("status", "broadcast")
    text = message.extendedTextMessage
    assert (text.text, text.backgroundArgb, text.textArgb) == ("Open 9-5", 0xFF25D366, 0xFFFFFFFF)
    assert text.font == ExtendedTextMessage.FontType.FB_SCRIPT
    assert fake_go.called("SendChatPresence") == []  # no typing on a status


async def test_an_image_status_is_uploaded_and_sent_to_status_broadcast(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    data = png()
    media = c.OutgoingMedia("image", outgoing(settings, "s.png", data), "image/png", caption="new menu")
    await backend.handler(c.CMD_POST_STATUS_MEDIA)(TOKEN, media)
    (upload,) = fake_go.called("Upload")
    assert upload.args[1] == data
    to, message = last_sent(fake_go)
    assert (to.User, to.Server) == ("status", "broadcast")
    assert (message.imageMessage.caption, message.imageMessage.mimetype) == ("new menu", "image/png")
    assert fake_go.called("SendChatPresence") == []


async def test_bad_statuses_reach_nothing(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    bad = [
        backend.handler(c.CMD_POST_STATUS)(TOKEN, " ", None, None),
        backend.handler(c.CMD_POST_STATUS)(TOKEN, "x", None, 3),
        backend.handler(c.CMD_POST_STATUS)(TOKEN, "x", 0x1_0000_0000, None),
        backend.handler(c.CMD_POST_STATUS_MEDIA)(
            TOKEN, c.OutgoingMedia("document", outgoing(settings, "d.pdf", b"%PDF"), "application/pdf")
        ),
    ]
    for call in bad:
        with pytest.raises(c.EngineError) as info:
            await call
        assert info.value.code == c.E_INVALID_ARGUMENT
    assert fake_go.called("SendMessage") == [] and fake_go.called("Upload") == []


async def test_a_contact_status_arrives_as_a_message_in_the_status_chat(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder
) -> None:
    status_chat = build_jid("status", "broadcast")
    event = text_message("At the beach", ALICE, status_chat, message_id="S1")
    await asyncio.to_thread(connected.event, 17, event)
    await recorder.wait_for("message")
    (message,) = recorder.of("message")
    assert (message["id"], message["chat"], message["from"]) == (
        "S1",
        c.STATUS_CHAT,
        "15557654321@s.whatsapp.net",
    )
    assert message["text"] == "At the beach"
