"""Presence tracking through neonize: the subscription reaches Go, and whatsmeow's Presence (20) and
ChatPresence (19) events come out as PresenceUpdates."""

from __future__ import annotations

import asyncio

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder
from wa_gateway.backends.neonize.client import CHAT_PRESENCE, PRESENCE
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c

ALICE = build_jid("15557654321")
ALICE_LID = build_jid("987654321012345", "lid")
GROUP = build_jid("120363025246125486", "g.us")
# Go's zero time.Time as Unix seconds: what neonize sends when the contact hides its last seen.
GO_ZERO_TIME = -62135596800


async def deliver(session: FakeSession, recorder: Recorder, code: int, event: object) -> dict:
    before = len(recorder.of(c.EV_PRESENCE))
    await asyncio.to_thread(session.event, code, event)
    await recorder.wait_for(c.EV_PRESENCE, count=before + 1)
    return recorder.of(c.EV_PRESENCE)[-1]


async def test_subscribing_sends_the_contact_jid_to_go(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    await backend.handler(c.CMD_SUBSCRIBE_PRESENCE)(TOKEN, "15557654321@s.whatsapp.net")
    (call,) = fake_go.called("SubscribePresence")
    contact = P.JID.FromString(call.args[1])
    assert (contact.User, contact.Server) == ("15557654321", "s.whatsapp.net")
    assert call.readers == 1 and not call.writer  # under the shared Go lock, like every other call


async def test_subscribing_refuses_groups_and_reports_whatsmeow_errors(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    with pytest.raises(c.EngineError) as info:
        await backend.handler(c.CMD_SUBSCRIBE_PRESENCE)(TOKEN, "120363025246125486@g.us")
    assert info.value.code == c.E_INVALID_ARGUMENT
    assert not fake_go.called("SubscribePresence")
    fake_go.subscribe_presence_error = "failed to send presence subscription: websocket not connected"
    with pytest.raises(c.EngineError) as info:
        await backend.handler(c.CMD_SUBSCRIBE_PRESENCE)(TOKEN, "15557654321@s.whatsapp.net")
    assert info.value.code == c.E_ENGINE_FAILURE and "websocket not connected" in info.value.message


async def test_subscribing_needs_a_running_device(backend: NeonizeBackend) -> None:
    with pytest.raises(c.EngineError) as info:
        await backend.handler(c.CMD_SUBSCRIBE_PRESENCE)(TOKEN, "15557654321@s.whatsapp.net")
    assert info.value.code == c.E_DEVICE_NOT_FOUND


async def test_presence_events_become_updates(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder, clock: ManualClock
) -> None:
    online = await deliver(
        connected, recorder, PRESENCE, P.Presence(From=ALICE, Unavailable=False, LastSeen=0)
    )
    assert online == {
        "from": "15557654321@s.whatsapp.net",
        "state": "available",
        "lastSeen": None,
        "chat": None,
        "timestamp": clock.time(),
    }
    offline = await deliver(
        connected, recorder, PRESENCE, P.Presence(From=ALICE, Unavailable=True, LastSeen=1_700_000_000)
    )
    assert (offline["state"], offline["lastSeen"]) == ("unavailable", 1_700_000_000.0)
    hidden = await deliver(
        connected, recorder, PRESENCE, P.Presence(From=ALICE, Unavailable=True, LastSeen=GO_ZERO_TIME)
    )
    assert (hidden["state"], hidden["lastSeen"]) == ("unavailable", None)


def _source(
    sender: P.JID, chat: P.JID, *, from_me: bool = False, alt: P.JID | None = None
) -> P.MessageSource:
    source = P.MessageSource(Chat=chat, Sender=sender, IsFromMe=from_me, IsGroup=chat.Server == "g.us")
    if alt is not None:
        source.SenderAlt.CopyFrom(alt)
    return source


async def test_chat_presence_events_name_the_state_and_the_chat(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder
) -> None:
    states = P.ChatPresence.ChatPresence
    media = P.ChatPresence.ChatPresenceMedia
    typing = await deliver(
        connected,
        recorder,
        CHAT_PRESENCE,
        P.ChatPresence(MessageSource=_source(ALICE, ALICE), State=states.COMPOSING, Media=media.TEXT),
    )
    assert (typing["from"], typing["state"], typing["chat"]) == (
        "15557654321@s.whatsapp.net",
        "composing",
        "15557654321@s.whatsapp.net",
    )
    # In a group WhatsApp may name the person by LID, with the phone JID beside it.
    recording = await deliver(
        connected,
        recorder,
        CHAT_PRESENCE,
        P.ChatPresence(
            MessageSource=_source(ALICE_LID, GROUP, alt=ALICE), State=states.COMPOSING, Media=media.AUDIO
        ),
    )
    assert (recording["from"], recording["state"], recording["chat"]) == (
        "15557654321@s.whatsapp.net",
        "recording",
        "120363025246125486@g.us",
    )
    paused = await deliver(
        connected,
        recorder,
        CHAT_PRESENCE,
        P.ChatPresence(MessageSource=_source(ALICE, ALICE), State=states.PAUSED, Media=media.TEXT),
    )
    assert paused["state"] == "paused"


async def test_own_typing_on_other_devices_is_not_reported(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder
) -> None:
    own = build_jid(TOKEN)
    states, media = P.ChatPresence.ChatPresence, P.ChatPresence.ChatPresenceMedia
    await asyncio.to_thread(
        connected.event,
        CHAT_PRESENCE,
        P.ChatPresence(
            MessageSource=_source(own, ALICE, from_me=True), State=states.COMPOSING, Media=media.TEXT
        ),
    )
    # Ordered inbox: once a later event is out, the earlier one was handled (and dropped).
    await deliver(connected, recorder, PRESENCE, P.Presence(From=ALICE, Unavailable=False, LastSeen=0))
    assert [e["state"] for e in recorder.of(c.EV_PRESENCE)] == ["available"]
