"""Where device and message events go: WebSocket clients, and the webhook outbox before anyone else.

An event bound for webhooks is committed to the outbox *before* it is shown on the WebSocket, so a
crash after a client saw it can never lose the webhook (docs/architecture.md "Webhooks").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final, Protocol

from wa_gateway.envelope import utc_timestamp
from wa_gateway.event_ids import CURRENT_ORIGIN
from wa_gateway.ws.hub import SEED_EVENTS, WsHub, encode_event

WEBHOOK_EVENTS: Final = frozenset(
    {
        "device.connected",
        "device.disconnected",
        "device.logged_out",
        "device.qr_expired",
        "device.banned",
        "message.received",
        "message.receipt",
        "contacts.new",
        "contacts.sync",
        "call.offer",
        "message.reaction",
        "message.edited",
        "message.revoked",
        "message.poll_vote",
        "presence.update",
        "status.received",
        "group.joined",
        "group.left",
        "group.updated",
        "group.participants",
        "newsletter.post",
    }
)
WS_EVENTS: Final = SEED_EVENTS | WEBHOOK_EVENTS


class Outbox(Protocol):
    async def enqueue(self, event: str, token: str, data: Any, event_id: str | None = None) -> str: ...


class Notifier:
    def __init__(
        self,
        hub: WsHub,
        outbox: Outbox | None = None,
        on_webhook: Callable[[str], None] | None = None,
    ) -> None:
        self._hub = hub
        self._outbox = outbox
        self._on_webhook = on_webhook

    def device_event(self, event: str, token: str, data: Any = None, message: str | None = None) -> None:
        """One of the seed's WebSocket events (``qrcode``, ``connection-error``, …)."""
        self._hub.publish(event, token, encode_event(event, token, data, message))

    async def webhook(self, event: str, token: str, data: Any) -> str:
        """Commit a webhook event, then show it to WebSocket subscribers; returns its id."""
        origin = CURRENT_ORIGIN.get()
        derived = origin.next_id() if origin is not None else None
        if self._outbox is not None:
            # The outbox wakes the dispatcher itself (its listeners).
            event_id = await self._outbox.enqueue(event, token, data, derived)
        else:
            event_id = derived or f"evt_{uuid.uuid4().hex}"
        frame = encode_event(event, token, data, id=event_id, timestamp=utc_timestamp())
        self._hub.publish(event, token, frame)
        if self._on_webhook is not None:
            self._on_webhook(event)
        return event_id
