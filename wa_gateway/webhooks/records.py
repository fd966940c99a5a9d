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
class OutboxStats:
    pending: int
    delivered: int
    dead: int
    oldest_pending_age_s: float


@dataclass(frozen=True, slots=True)
class DeadPage:
    items: list[OutboxRecord]
    total: int
