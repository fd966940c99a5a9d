"""neonize's presence events as contract PresenceUpdates (docs/presence.md).

whatsmeow reports a subscribed contact's online/offline as ``events.Presence`` (neonize event 20) and
typing in a chat as ``events.ChatPresence`` (event 19; whatsmeow types/events/events.go).
"""

from __future__ import annotations

from typing import Any

from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import events as translate
from wa_gateway.engine import contract as c


def presence(event: Any, lid_to_pn: dict[str, str], now: float) -> c.PresenceUpdate:
    sender, _ = translate.resolve_person(event.From, None, lid_to_pn)
    # whatsmeow leaves LastSeen at Go's zero time unless the contact shares it ("last" attribute of the
    # presence node, whatsmeow presence.go); neonize sends that as a negative Unix time.
    last_seen = translate.seconds(event.LastSeen) if event.Unavailable and event.LastSeen > 0 else None
    return {
        "from": sender,
        "state": "unavailable" if event.Unavailable else "available",
        "lastSeen": last_seen,
        "chat": None,
        "timestamp": now,
    }


def chat_presence(event: Any, lid_to_pn: dict[str, str], now: float) -> c.PresenceUpdate | None:
    """composing, recording (composing with audio media) or paused; None for one's own other devices."""
    source = event.MessageSource
    if source.IsFromMe:
        return None
    sender, _ = translate.resolve_person(source.Sender, source.SenderAlt, lid_to_pn)
    if event.State == proto.ChatPresence.ChatPresence.PAUSED:
        state = "paused"
    elif event.Media == proto.ChatPresence.ChatPresenceMedia.AUDIO:
        state = "recording"
    else:
        state = "composing"
    return {
        "from": sender,
        "state": state,
        "lastSeen": None,
        "chat": translate.jid_string(source.Chat),
        "timestamp": now,
    }
