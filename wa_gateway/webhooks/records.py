"""What the webhook outbox hands out: queue heads to send, rows to inspect, counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

STATUS_PENDING: Final = "pending"
STATUS_DELIVERED: Final = "delivered"
STATUS_DEAD: Final = "dead"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A pending row handed to the dispatcher: the exact bytes to POST and what decides its fate."""

    seq: int
    id: str
    event: str
    token: str
    body: bytes
    attempts: int
    created_at: float
    # When the retry budget (WEBHOOK_MAX_AGE_SECONDS) started: creation, or the last operator retry.
    window_start: float


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: str
    event: str
    token: str
    body: bytes
    status: str
    attempts: int
    created_at: float
    updated_at: float
    next_attempt_at: float
    last_error: str | None
    last_status: int | None

    def payload(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one delivery attempt of a pending row ended: its new status and what the receiver answered."""

    status: str
    next_attempt_at: float | None
    error: str | None
    http_status: int | None

    def __post_init__(self) -> None:
        if self.status not in (STATUS_PENDING, STATUS_DELIVERED, STATUS_DEAD):
            raise ValueError(f"unknown outbox status {self.status!r}")


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    delivered: int
    dead: int
    oldest_pending_age_s: float

    @classmethod
    def from_counts(cls, counts: dict[str, int], oldest_created_at: float | None, now: float) -> OutboxStats:
        """From the rows counted by status and the oldest pending row's creation time (None: none pending)."""
        return cls(
            pending=counts.get(STATUS_PENDING, 0),
            delivered=counts.get(STATUS_DELIVERED, 0),
            dead=counts.get(STATUS_DEAD, 0),
            oldest_pending_age_s=0.0 if oldest_created_at is None else max(0.0, now - oldest_created_at),
        )


@dataclass(frozen=True, slots=True)
class DeadPage:
    items: list[OutboxRecord]
    total: int
