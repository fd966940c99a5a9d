"""The event bus: producers publish typed events; consumers subscribe, by phase, and know no producer.

Phases keep the one ordering that matters for durability (docs/architecture.md "Webhooks"): a webhook
event is committed (``COMMIT``: the outboxes) before anyone is shown it (``SHOW``: WebSocket clients,
metrics), and only then do consumers that derive further events from it run (``FOLLOW``: contact capture).
Subscribers run one after the other in the publisher's task, so one device's events keep their order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Final

from wa_gateway.event_ids import CURRENT_ORIGIN
from wa_gateway.events.model import WEBHOOK, Event, Kind

COMMIT: Final = 0
SHOW: Final = 1
FOLLOW: Final = 2

Handler = Callable[[Event], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class _Subscription:
    phase: int
    handler: Handler
    kinds: frozenset[str]
    names: frozenset[str] | None


class EventBus:
    def __init__(self, new_id: Callable[[], str] | None = None) -> None:
        self._subscriptions: list[_Subscription] = []
        self._new_id = new_id or (lambda: f"evt_{uuid.uuid4().hex}")

    def subscribe(
        self,
        handler: Handler,
        *,
        phase: int = SHOW,
        kinds: Collection[Kind] = (WEBHOOK,),
        names: Collection[str] | None = None,
    ) -> None:
        """``handler`` gets every event of ``kinds`` (and of ``names``, when given) in its ``phase``."""
        subscription = _Subscription(
            phase, handler, frozenset(kinds), frozenset(names) if names is not None else None
        )
        self._subscriptions.append(subscription)
        # Stable: within a phase, subscribers keep the order they subscribed in.
        self._subscriptions.sort(key=lambda s: s.phase)

    async def publish(self, event: Event) -> Event:
        """Deliver ``event`` to its subscribers; a failing subscriber fails the publish (the journal then
        keeps the engine event that caused it, docs/durability.md)."""
        if event.type.kind == WEBHOOK and event.id is None:
            origin = CURRENT_ORIGIN.get()
            event.id = origin.next_id() if origin is not None else self._new_id()
        for subscription in self._subscriptions:
            if event.type.kind not in subscription.kinds:
                continue
            if subscription.names is not None and event.type.name not in subscription.names:
                continue
            result = subscription.handler(event)
            if result is not None:
                await result
        return event
