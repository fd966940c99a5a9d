"""Editing a sent image's or document's caption through neonize: the edit carries the media message
itself with the new caption, the way an incoming caption edit reads (``editedMessage.imageMessage``)."""

from __future__ import annotations

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ProtocolMessage

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession
from tests.neonize.test_neonize_media import outgoing, png
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

ALICE_JID = "15557654321@s.whatsapp.net"
PDF = b"%PDF-1.7\n%%EOF\n"


def last_sent(fake_go: FakeGo) -> tuple[P.JID, WAMessage]:
    call = fake_go.called("SendMessage")[-1]
    return P.JID.FromString(call.args[1]), WAMessage.FromString(call.args[3])


async def test_a_caption_edit_resends_the_media_with_the_new_caption(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    fake_go.sent_ids = ["IMG1", "EDIT1", "DOC1", "EDIT2"]
    image = c.OutgoingMedia("image", outgoing(settings, "p.png", png()), "image/png", caption="old")
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, image, 0)
    _, original = last_sent(fake_go)
    assert (await backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "IMG1", "new caption"))["id"] == "EDIT1"
    to, edit = last_sent(fake_go)
    assert to.User == "15557654321"
    protocol = edit.editedMessage.message.protocolMessage
    assert protocol.type == ProtocolMessage.MESSAGE_EDIT
    assert (protocol.key.ID, protocol.key.fromMe, protocol.key.remoteJID) == ("IMG1", True, ALICE_JID)
    edited = protocol.editedMessage.imageMessage
    assert edited.caption == "new caption"
    assert edited.directPath == original.imageMessage.directPath
    assert edited.mediaKey == original.imageMessage.mediaKey
    assert not protocol.editedMessage.HasField("conversation")

    document = c.OutgoingMedia(
        "document", outgoing(settings, "r.pdf", PDF), "application/pdf", filename="r.pdf", caption="Q3"
    )
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, document, 0)
    await backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "DOC1", "Q3, final")
    _, edit = last_sent(fake_go)
    edited_document = edit.editedMessage.message.protocolMessage.editedMessage.documentMessage
    assert (edited_document.caption, edited_document.fileName) == ("Q3, final", "r.pdf")


async def test_captionless_kinds_are_not_edited(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.sent_ids = ["POLL1"]
    await backend.handler(c.CMD_SEND_POLL)(TOKEN, ALICE_JID, "When?", ["Mon", "Tue"], False)
    sends = len(fake_go.called("SendMessage"))
    with pytest.raises(c.EngineError) as info:
        await backend.handler(c.CMD_EDIT)(TOKEN, ALICE_JID, "POLL1", "x")
    assert info.value.code == c.E_INVALID_ARGUMENT and "captions" in info.value.message
    assert len(fake_go.called("SendMessage")) == sends
