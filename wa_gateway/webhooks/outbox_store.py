"""The interface between the webhook outbox and where its rows live (sqlite file or PostgreSQL table).

``WebhookOutbox`` (ids, payload bytes, batching, listeners) is written against this and nothing else;
docs/storage.md describes both implementations.
"""

from __future__ import annotations

from typing import Protocol

from wa_gateway.webhooks.records import Attempt, DeadPage, OutboxMessage, OutboxRecord, OutboxStats

OutboxRow = tuple[str, str, str, bytes]
"""``(id, event, token, body)`` of one new event."""


class OutboxStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, rows: list[OutboxRow], now: float) -> None:
        """Commit the rows in list order, in one transaction; an id already stored is left as it is."""
        ...

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        """Heads (lowest seq of each token's pending rows) due at ``now``, soonest first."""
        ...

    async def head_times(self, limit: int) -> list[tuple[str, float]]:
        """``(token, next_attempt_at)`` of queue heads, soonest first."""
        ...

    async def record_attempt(self, msg_id: str, attempt: Attempt, now: float) -> None:
        """One delivery attempt of a pending row, which takes ``attempt.status``; other rows are left."""
        ...

    async def prune_delivered(self, cutoff: float) -> int: ...

    async def get(self, msg_id: str) -> OutboxRecord | None: ...

    async def stats(self, now: float) -> OutboxStats: ...

    async def dead(self, limit: int, offset: int) -> DeadPage: ...

    async def requeue_dead(self, msg_id: str | None, now: float) -> int:
        """Dead rows (one, or all when ``msg_id`` is None) back to pending with a fresh retry budget."""
        ...

    async def requeue_delivered(self, msg_id: str, now: float) -> int:
        """A delivered row back to pending, same id and body, with a fresh retry budget."""
        ...


LAST_ERROR_MAX_CHARS = 500


def clip_error(error: str | None) -> str | None:
    if error is None or len(error) <= LAST_ERROR_MAX_CHARS:
        return error
    return error[: LAST_ERROR_MAX_CHARS - 1] + "…"
