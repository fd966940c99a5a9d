"""Which answers are retried, how long the backoff is, and how Retry-After is read."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from wa_gateway.webhooks.retry_policy import Verdict, backoff_delay, classify, parse_retry_after


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (299, Verdict.DELIVERED),
        (None, Verdict.RETRY),
        (301, Verdict.RETRY),
        (302, Verdict.RETRY),
        (307, Verdict.RETRY),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (400, Verdict.DEAD),
        (401, Verdict.DEAD),
        (404, Verdict.DEAD),
        (410, Verdict.DEAD),
        (422, Verdict.DEAD),
    ],
)
def test_classify(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_the_cap() -> None:
    rng = random.Random(42)
    for failures in range(1, 40):
        ceiling = min(600.0, 1.0 * 2 ** (failures - 1))
        samples = [backoff_delay(failures, rng, 1.0, 600.0) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # Full jitter: the samples spread over the whole range, not just near the ceiling.
        assert min(samples) < ceiling * 0.2
        assert max(samples) > ceiling * 0.8


def test_backoff_survives_absurd_failure_counts() -> None:
    assert 0.0 <= backoff_delay(10_000, random.Random(1), 1.0, 600.0) <= 600.0


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120", 1000.0) == 120.0
    assert parse_retry_after(" 0 ", 1000.0) == 0.0


def test_retry_after_http_date_is_relative_to_now() -> None:
    now = 1_700_000_000.0
    when = format_datetime(datetime.fromtimestamp(now + 90, tz=UTC), usegmt=True)
    assert parse_retry_after(when, now) == pytest.approx(90.0)
    past = format_datetime(datetime.fromtimestamp(now - 90, tz=UTC), usegmt=True)
    assert parse_retry_after(past, now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "\u00b2", "Mon, 99 Foo 2026 99:00:00 GMT"])
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, 1000.0) is None
