"""Commands reach Go with the right arguments; neonize's own message building runs in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid
from neonize.utils.enum import ChatPresence, ChatPresenceMedia

from tests.neonize.neonize_fakes import (
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    make_paired_db,
    text_message,
    wait_until,
)
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c
from wa_gateway.engine.contract import EngineError

ALICE = "15557654321@s.whatsapp.net"


@pytest.fixture
async def online(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> AsyncIterator[FakeSession]:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    session = await fake_go.next_session()
    await recorder.wait_for("connected")
    yield session


async def test_send_text_types_then_sends_the_text_as_neonize_builds_it(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, clock: ManualClock
) -> None:
    sending = asyncio.create_task(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello *world*", 1500))
    await wait_until(lambda: clock.sleepers == 1, what="typing delay")
    assert [call.name for call in fake_go.calls[-1:]] == ["SendChatPresence"]
    assert fake_go.called("SendMessage") == []
    clock.advance(1.5)
    reply = await sending
    assert reply.pop("ref")  # what the message store keeps (test_neonize_stored_messages.py)
    assert reply == {"id": "3EB0FAKE0001", "timestamp": 1_700_000_123.0}

    composing, paused = fake_go.called("SendChatPresence")
    (sent,) = fake_go.called("SendMessage")
    for call in (composing, paused, sent):
        assert call.args[0] == online.uuid.encode()
        assert call.readers >= 1 and not call.writer, "every call shares the Go lock"
    assert P.JID.FromString(composing.args[1]).User == "15557654321"
    assert composing.args[3:] == (
        ChatPresence.CHAT_PRESENCE_COMPOSING.value,
        ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT.value,
    )
    assert paused.args[3] == ChatPresence.CHAT_PRESENCE_PAUSED.value
    uuid, to, to_len, message, message_len = sent.args
    assert uuid == online.uuid.encode()
    recipient = P.JID.FromString(to)
    assert (recipient.User, recipient.Server, to_len) == ("15557654321", "s.whatsapp.net", len(to))
    assert WAMessage.FromString(message).extendedTextMessage.text == "hello *world*"
    assert message_len == len(message)


class WatchedLock(asyncio.Lock):
    """A device's send lock that counts the sends queued behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.queued = 0

    async def acquire(self) -> Literal[True]:
        self.queued += 1
        try:
            return await super().acquire()
        finally:
            self.queued -= 1


async def test_sends_of_one_device_go_out_in_request_order(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, clock: ManualClock
) -> None:
    device = backend.session(TOKEN)
    assert device is not None
    device.send_lock = lock = WatchedLock()
    first = asyncio.create_task(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "first", 1000))
    await wait_until(lambda: clock.sleepers == 1, what="first typing")
    second = asyncio.create_task(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "second", 0))
    # The first send types on the clock, holding the lock; the second waits for it: nothing can send now.
    await wait_until(lambda: lock.queued == 1, what="the second send queued behind the first")
    assert fake_go.called("SendMessage") == []
    clock.advance(1)
    await asyncio.gather(first, second)
    texts = [
        WAMessage.FromString(call.args[3]).extendedTextMessage.text for call in fake_go.called("SendMessage")
    ]
    assert texts == ["first", "second"]


async def test_send_text_refuses_what_it_cannot_send(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    with pytest.raises(EngineError) as unknown:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hi", 0)
    assert unknown.value.code == "DEVICE_NOT_FOUND"
    await backend.connect(TOKEN, "qr", "")
    await recorder.wait_for("qr")
    with pytest.raises(EngineError) as pairing:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hi", 0)
    assert pairing.value.code == "DEVICE_NOT_CONNECTED"
    with pytest.raises(EngineError) as bad_jid:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, "not a jid@", "hi", 0)
    assert bad_jid.value.code == "INVALID_ARGUMENT"
    assert fake_go.called("SendMessage") == []


async def test_check_numbers_asks_once_and_maps_answers_back(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.registered = {"15557654321": "s.whatsapp.net", "15553334444": "lid"}
    results = await backend.check_numbers(TOKEN, ["15557654321", "15553334444", "15550000000"])
    assert results == [
        {"phone": "15557654321", "isOnWhatsApp": True, "jid": "15557654321@s.whatsapp.net"},
        # Answered with a LID: the number asked is the phone.
        {"phone": "15553334444", "isOnWhatsApp": True, "jid": "15553334444@s.whatsapp.net"},
        {"phone": "15550000000", "isOnWhatsApp": False, "jid": ""},
    ]
    (call,) = fake_go.called("IsOnWhatsApp")
    assert call.args[1] == b"+15557654321 +15553334444 +15550000000"
    assert await backend.check_numbers(TOKEN, []) == []
    with pytest.raises(EngineError) as bad:
        await backend.check_numbers(TOKEN, ["+1555"])
    assert bad.value.code == "INVALID_ARGUMENT"


async def test_mark_read(backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo) -> None:
    group = "120363025246125486@g.us"
    await backend.mark_read(TOKEN, group, ALICE, ["3EB0AAA", "3EB0BBB"])
    await backend.mark_read(TOKEN, ALICE, None, ["3EB0CCC"])
    in_group, one_to_one = fake_go.called("MarkRead")
    uuid, ids, timestamp, chat, chat_len, sender, sender_len, receipt = in_group.args
    assert uuid == online.uuid.encode() and (chat_len, sender_len) == (len(chat), len(sender))
    assert ids == b"3EB0AAA 3EB0BBB" and receipt == b"read" and timestamp > 0
    assert P.JID.FromString(chat).Server == "g.us" and P.JID.FromString(sender).User == "15557654321"
    assert P.JID.FromString(one_to_one.args[5]).User == "15557654321"  # a 1:1 chat stands for its sender
    with pytest.raises(EngineError):
        await backend.mark_read(TOKEN, ALICE, None, [])


async def test_control_is_not_for_this_engine(backend: NeonizeBackend) -> None:
    with pytest.raises(EngineError) as unknown:
        await backend.control("link", {})
    assert unknown.value.code == "UNKNOWN_COMMAND"


async def test_disconnect_stops_the_client_and_keeps_the_session(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, session_db: Path
) -> None:
    await backend.disconnect(TOKEN)
    assert online.stopped.is_set()
    (stop,) = fake_go.called("Stop")
    assert stop.writer
    assert await asyncio.to_thread(session_db.exists)
    assert await backend.status() == []
    await backend.disconnect(TOKEN)  # nothing left to stop
    assert len(fake_go.called("Stop")) == 1


async def test_numbers_whatsapp_gives_no_answer_for_are_not_on_whatsapp(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.unanswered = {"1555123"}
    assert await backend.check_numbers(TOKEN, ["1555123"]) == [
        {"phone": "1555123", "isOnWhatsApp": False, "jid": ""}
    ]


async def test_read_receipts_name_chat_and_sender_exactly_as_the_message_arrived(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    group = build_jid("120363025246125486", "g.us")
    lid = build_jid("987654321012345", "lid")
    event = text_message("hi all", lid, group, sender_alt=build_jid("15557654321"), is_group=True)
    await asyncio.to_thread(online.event, 17, event)
    message = await recorder.wait_for("message")
    assert message["from"] == ALICE  # the gateway sees the phone ...
    await backend.mark_read(TOKEN, message["chat"], message["from"], [message["id"]])
    (receipt,) = fake_go.called("MarkRead")
    sender = P.JID.FromString(receipt.args[5])
    assert (sender.User, sender.Server) == ("987654321012345", "lid")  # ... WhatsApp is told the LID
    assert P.JID.FromString(receipt.args[3]).Server == "g.us"
    with pytest.raises(EngineError) as no_sender:  # never the group itself as the participant
        await backend.mark_read(TOKEN, message["chat"], None, ["NOT-HELD"])
    assert no_sender.value.code == "INVALID_ARGUMENT"


async def test_whatsapps_reachout_limit_is_its_own_error(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo
) -> None:
    # whatsmeow's send.go wraps the server's error code into ErrServerReturnedError.
    fake_go.send_error = "server returned error 463"
    with pytest.raises(EngineError) as limited:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello stranger", 0)
    assert limited.value.code == "REACHOUT_LIMITED"
    fake_go.send_error = "server returned error 500"
    with pytest.raises(EngineError) as other:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello", 0)
    assert other.value.code == "ENGINE_FAILURE"
