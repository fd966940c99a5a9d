"""Channel posts through the neonize backend: posting as owner or admin only, media uploaded unencrypted,
the channel's history, and posts and reactions arriving, against the fake Go functions (channel_fakes.py)
and hand-built neonize events through the real callbacks."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ReactionMessage
from neonize.utils import build_jid
from PIL import Image

from tests.neonize.channel_fakes import ADMIN, OWNER, SUBSCRIBER, channel, post
from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, text_message
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

USER = "120363111111111111"
DAILY = f"{USER}@newsletter"
ALICE = build_jid("15557654321")


def follow_as(fake_go: FakeGo, role: int) -> None:
    meta = channel(USER, "Daily", "DailyInvite1")
    meta.ViewerMeta.CopyFrom(P.NewsletterViewerMetadata(Role=role, Mute=2))
    fake_go.channels[USER] = meta


async def code_of(awaitable: Any) -> str:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value.code


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("role", [OWNER, ADMIN])
async def test_the_owner_and_admins_post_text_without_a_typing_indicator(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, role: int
) -> None:
    follow_as(fake_go, role)
    result = await backend.handler(c.CMD_SEND_TEXT)(TOKEN, DAILY, "Today: rain", 1500)
    assert result["id"] == "3EB0FAKE0001"
    (info,) = fake_go.called("GetNewsletterInfo")
    assert P.JID.FromString(info.args[1]).User == USER
    (send,) = fake_go.called("SendMessage")
    assert P.JID.FromString(send.args[1]).Server == "newsletter"
    assert WAMessage.FromString(send.args[3]).extendedTextMessage.text == "Today: rain"
    assert fake_go.called("SendChatPresence") == []


async def test_a_follower_or_a_stranger_cannot_post_and_nothing_is_sent(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    send_text = backend.handler(c.CMD_SEND_TEXT)
    assert await code_of(send_text(TOKEN, DAILY, "hi", 0)) == c.E_NEWSLETTER_NOT_FOUND
    fake_go.channels[USER] = channel(USER, "Daily", "DailyInvite1")  # known, not followed
    assert await code_of(send_text(TOKEN, DAILY, "hi", 0)) == c.E_NOT_CHANNEL_ADMIN
    follow_as(fake_go, SUBSCRIBER)
    assert await code_of(send_text(TOKEN, DAILY, "hi", 0)) == c.E_NOT_CHANNEL_ADMIN
    path = settings.data_dir / "media" / "outgoing" / "photo.png"
    await asyncio.to_thread(_write, path, png())
    media = c.OutgoingMedia("image", path, "image/png", caption="new stock")
    assert await code_of(backend.handler(c.CMD_SEND_MEDIA)(TOKEN, DAILY, media, 0)) == c.E_NOT_CHANNEL_ADMIN
    assert fake_go.called("SendMessage") == []
    assert fake_go.called("UploadNewsletter") == [] and fake_go.called("Upload") == []


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def test_channel_media_is_uploaded_unencrypted_and_sent_without_keys(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    follow_as(fake_go, OWNER)
    data = png()
    path = settings.data_dir / "media" / "outgoing" / "photo.png"
    await asyncio.to_thread(_write, path, data)
    media = c.OutgoingMedia("image", path, "image/png", caption="new stock")
    result = await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, DAILY, media, 0)
    assert result["id"] == "3EB0FAKE0001"
    (upload,) = fake_go.called("UploadNewsletter")
    assert bytes(upload.args[1]) == data and upload.args[3] == 0  # MediaImage
    assert fake_go.called("Upload") == [], "channel media is never encrypted"
    (send,) = fake_go.called("SendMessage")
    image = WAMessage.FromString(send.args[3]).imageMessage
    assert (image.caption, image.mimetype, image.fileLength) == ("new stock", "image/png", len(data))
    assert image.fileSHA256 == hashlib.sha256(data).digest()
    assert image.directPath.startswith("/newsletter/") and image.URL.startswith("https://")
    for absent in ("mediaKey", "fileEncSHA256", "thumbnailEncSHA256"):
        assert not image.HasField(absent), absent
    assert fake_go.called("SendChatPresence") == []
    # The same picture to a person is encrypted as ever.
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, "15557654321@s.whatsapp.net", media, 0)
    assert len(fake_go.called("Upload")) == 1 and len(fake_go.called("UploadNewsletter")) == 1


async def test_the_posts_of_a_channel_newest_first_by_server_id(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.channels[USER] = channel(USER, "Daily", "DailyInvite1")
    fake_go.channel_posts[USER] = [post(n, f"post {n}", views=10 * n) for n in (1, 2, 3, 4)]
    fake_go.channel_posts[USER][2].ReactionCounts.append(P.Reaction(type="👍", count=7))
    messages = backend.handler(c.CMD_NEWSLETTER_MESSAGES)
    newest = await messages(TOKEN, DAILY, 3, None)
    assert [p["serverId"] for p in newest] == [4, 3, 2]
    assert newest[1] == {
        "id": None,
        "serverId": 3,
        "type": "text",
        "text": "post 3",
        "caption": None,
        "media": None,
        "timestamp": None,
        "views": 30,
        "reactions": [{"emoji": "👍", "count": 7}],
    }
    first = fake_go.called("GetNewsletterMessages")[0]
    assert (P.JID.FromString(first.args[1]).User, first.args[3], first.args[4]) == (USER, 3, 0)
    older = await messages(TOKEN, DAILY, 3, 2)
    assert [p["serverId"] for p in older] == [1]
    assert fake_go.called("GetNewsletterMessages")[1].args[4] == 2
    unknown = "120363999999999999@newsletter"
    assert await code_of(messages(TOKEN, unknown, 3, None)) == c.E_NEWSLETTER_NOT_FOUND
    assert await code_of(messages(TOKEN, "120363025246125486@g.us", 3, None)) == c.E_INVALID_ARGUMENT


def newsletter_event(content: WAMessage, message_id: str, server_id: int) -> Any:
    """A channel post as whatsmeow dispatches it: chat and sender are the channel, no group, not ours, and
    the post's server id (whatsmeow message.go parseMessageSource, handlePlaintextMessage)."""
    jid = build_jid(USER, "newsletter")
    event = text_message("", jid, jid, message_id=message_id, push_name="")
    event.Info.ServerID = server_id
    event.Message.CopyFrom(content)
    return event


async def test_posts_and_reactions_in_a_channel_arrive_flagged_as_newsletter(
    connected: FakeSession, recorder: Recorder
) -> None:
    posted = newsletter_event(WAMessage(conversation="Today: rain"), "NL1", 101)
    key = MessageKey(remoteJID=DAILY, fromMe=False, ID="NL1")
    reacted = newsletter_event(WAMessage(reactionMessage=ReactionMessage(key=key, text="👍")), "NL2", 102)
    for event in (posted, reacted, text_message("hello", ALICE, message_id="P1")):
        await asyncio.to_thread(connected.event, nc.MESSAGE, event)
    person = await recorder.wait_for("message", count=2)
    channel_post = recorder.of("message")[0]
    assert (channel_post["id"], channel_post["chat"], channel_post["from"]) == ("NL1", DAILY, DAILY)
    assert (channel_post["text"], channel_post["isNewsletter"], channel_post["isGroup"]) == (
        "Today: rain",
        True,
        False,
    )
    assert channel_post["senderPhone"] == ""
    (reaction,) = recorder.of("reaction")
    assert (reaction["targetId"], reaction["emoji"], reaction["chat"]) == ("NL1", "👍", DAILY)
    assert reaction["isNewsletter"] is True
    assert "isNewsletter" not in person and person["chat"] == "15557654321@s.whatsapp.net"
