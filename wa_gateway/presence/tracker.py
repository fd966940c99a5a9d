"""The last presence each device saw of each contact, and the ``presence.update`` event that tells it.

Kept in memory: presence is a live signal that WhatsApp resends after a reconnect and a fresh
subscription, so nothing stale survives a gateway restart (docs/presence.md).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus

# Contacts remembered across all devices; the least recently updated are forgotten first.
MAX_TRACKED: Final = 50_000


def _when(value: Any) -> str | None:
    return (
        utc_timestamp(float(value))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


class PresenceTracker:
    def __init__(self, bus: EventBus, max_tracked: int = MAX_TRACKED) -> None:
        self._bus = bus
        self._max = max_tracked
        self._last: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    async def handle(self, token: str, data: dict[str, Any]) -> None:
        sender = data.get("from")
        state = data.get("state")
        if not isinstance(sender, str) or not sender or state not in c.PRESENCE_STATES:
            return
        payload: dict[str, Any] = {
            "from": sender,
            "state": state,
            "lastSeen": _when(data.get("lastSeen")),
            "chat": data.get("chat") if isinstance(data.get("chat"), str) else None,
            "timestamp": _when(data.get("timestamp")) or utc_timestamp(),
        }
        self._remember(token, sender, payload)
        await self._bus.publish(ev.PRESENCE_UPDATE(token, payload, source=data))

    def _remember(self, token: str, sender: str, payload: dict[str, Any]) -> None:
        key = (token, sender)
        known = self._last.pop(key, None)
        last = dict(payload)
        # "Last seen" stays known while the contact is online again, until a newer one arrives.
        if last["lastSeen"] is None and known is not None:
            last["lastSeen"] = known["lastSeen"]
        self._last[key] = last
        while len(self._last) > self._max:
            self._last.popitem(last=False)

    def last(self, token: str, contact: str) -> dict[str, Any] | None:
        known = self._last.get((token, contact))
        return dict(known) if known is not None else None

    async def forget_device(self, token: str) -> None:
        for key in [key for key in self._last if key[0] == token]:
            del self._last[key]
