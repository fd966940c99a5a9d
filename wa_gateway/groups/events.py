"""The engine's group events as the ``group.*`` webhooks and WebSocket events (docs/groups.md "Events")."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus
from wa_gateway.events.model import EventType

# Engine event -> the webhook event it becomes (its fields are the definition's, docs/events.md).
GROUP_WEBHOOKS: Final[dict[str, EventType]] = {
    c.EV_GROUP_JOINED: ev.GROUP_JOINED,
    c.EV_GROUP_LEFT: ev.GROUP_LEFT,
    c.EV_GROUP_UPDATED: ev.GROUP_UPDATED,
    c.EV_GROUP_PARTICIPANTS: ev.GROUP_PARTICIPANTS,
}
WEBHOOK_NAMES: Final = frozenset(kind.name for kind in GROUP_WEBHOOKS.values())


class GroupEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def handle(self, token: str, event: str, data: dict[str, Any]) -> None:
        known = GROUP_WEBHOOKS.get(event)
        if known is None or not isinstance(data.get("jid"), str):
            return
        payload = {f.key: data.get(f.key) for f in known.fields if f.key != "timestamp"}
        when = data.get("timestamp")
        payload["timestamp"] = (
            utc_timestamp(float(when))
            if isinstance(when, int | float) and not isinstance(when, bool)
            else utc_timestamp()
        )
        await self._bus.publish(known(token, payload))
