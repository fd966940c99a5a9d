"""Contacts' status posts: messages in the ``status@broadcast`` chat become ``status.received`` events.

They are not conversations: no ``message.received``, no automatic read receipt (that would tell the
contact the status was viewed) and no contact capture (docs/status.md).
"""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus

_FIELDS: Final = ("id", "from", "pushName", "type", "text", "caption")


def is_status(event: str, data: dict[str, Any]) -> bool:
    return event == c.EV_MESSAGE and data.get("chat") == c.STATUS_CHAT


class StatusEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def handle(self, token: str, data: dict[str, Any]) -> None:
        if data.get("fromMe") is True:
            return  # the account's own post, seen from another of its devices
        payload = {name: data.get(name) for name in _FIELDS}
        media = data.get("media")
        payload["media"] = (
            {"mimetype": media.get("mimetype"), "size": media.get("size"), "filename": media.get("filename")}
            if isinstance(media, dict)
            else None
        )
        stamp = data.get("timestamp")
        payload["timestamp"] = (
            utc_timestamp(float(stamp)) if isinstance(stamp, int | float) else utc_timestamp()
        )
        await self._bus.publish(ev.STATUS_RECEIVED(token, payload, source=data))
