"""What a receiver's answer means for a webhook, and how long to wait before the next attempt."""

from __future__ import annotations

import enum
import random
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final

RETRY_BASE_S: Final = 1.0
RETRY_CAP_S: Final = 600.0
# 2**60 seconds is far past any cap; stopping there keeps the float arithmetic finite.
_MAX_EXPONENT: Final = 60


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


def classify(http_status: int | None) -> Verdict:
    """Standard Webhooks "Delivery success and failure": 2xx succeeds, 3xx fails (redirects are not
    followed), 408/429/5xx and network errors (``None``) are worth retrying, other 4xx (410 above
    all) never will be."""
    if http_status is None:
        return Verdict.RETRY
    if 200 <= http_status < 300:
        return Verdict.DELIVERED
    if 400 <= http_status < 500 and http_status not in (408, 429):
        return Verdict.DEAD
    return Verdict.RETRY


def backoff_delay(
    failures: int, rng: random.Random, base_s: float = RETRY_BASE_S, cap_s: float = RETRY_CAP_S
) -> float:
    """Exponential backoff with full jitter (uniform in [0, min(cap, base * 2**(n-1))]).

    Full jitter spreads the retries of many queues that failed together, so a receiver coming back
    up is not hit by all of them in the same second.
    """
    exponent = min(max(failures, 1) - 1, _MAX_EXPONENT)
    return rng.uniform(0.0, min(cap_s, base_s * 2.0**exponent))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # "-0000" parses as naive; an HTTP-date is always GMT.
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
