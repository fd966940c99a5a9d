"""The engine's group events as the ``group.*`` webhooks and WebSocket events (docs/groups.md "Events")."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.notify import Notifier

# Engine event -> (webhook event, the fields it carries besides the timestamp).
GROUP_WEBHOOKS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    c.EV_GROUP_JOINED: ("group.joined", ("jid", "subject", "by")),
    c.EV_GROUP_LEFT: ("group.left", ("jid", "by")),
    c.EV_GROUP_UPDATED: ("group.updated", ("jid", "changes", "by")),
    c.EV_GROUP_PARTICIPANTS: ("group.participants", ("jid", "action", "participants", "by")),
}
WEBHOOK_NAMES: Final = frozenset(name for name, _ in GROUP_WEBHOOKS.values())


class GroupEvents:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def handle(self, token: str, event: str, data: dict[str, Any]) -> None:
        known = GROUP_WEBHOOKS.get(event)
        if known is None or not isinstance(data.get("jid"), str):
            return
        name, keys = known
        payload = {key: data.get(key) for key in keys}
        when = data.get("timestamp")
        payload["timestamp"] = (
            utc_timestamp(float(when))
            if isinstance(when, int | float) and not isinstance(when, bool)
            else utc_timestamp()
        )
        await self._notifier.webhook(name, token, payload)
