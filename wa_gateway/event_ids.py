"""Webhook ids derived from a journaled engine event, so its replay repeats them (docs/durability.md).

The device manager sets ``CURRENT_ORIGIN`` while it applies a journaled event; every webhook that event
produces takes the next id of that origin, in order, and the outbox ignores an id it already holds.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(slots=True)
class EventOrigin:
    base_id: str
    _count: int = field(default=0)

    def next_id(self) -> str:
        """The first webhook keeps the event id; later ones (contacts.new after a message) derive from it."""
        n, self._count = self._count, self._count + 1
        if n == 0:
            return self.base_id
        digest = hashlib.blake2b(f"{self.base_id}:{n}".encode(), digest_size=8).hexdigest()
        # Same shape as the outbox's own ids: evt_ + 12 hex of milliseconds + 16 hex.
        return f"{self.base_id[:16]}{digest}"


CURRENT_ORIGIN: ContextVar[EventOrigin | None] = ContextVar("wa_gateway_event_origin", default=None)
