"""The engine's channel events as ``newsletter.*`` webhooks and WebSocket events (docs/channels.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus

POST_EVENT: Final = ev.NEWSLETTER_POST.name


class ChannelEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def handle(self, token: str, event: str, data: dict[str, Any]) -> None:
        if event != c.EV_NEWSLETTER_POST or not isinstance(data.get("jid"), str):
            return
        when = data.get("timestamp")
        stamp = utc_timestamp(float(when)) if isinstance(when, int | float) else utc_timestamp()
        payload = {"jid": data["jid"], "id": data.get("id"), "text": data.get("text"), "timestamp": stamp}
        await self._bus.publish(ev.NEWSLETTER_POST(token, payload))
