"""The envelope's timestamp: formatted once per second, yet always the current second."""

from __future__ import annotations

import time

import pytest

from wa_gateway import envelope


def test_meta_timestamp_follows_the_clock_across_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_700_000_000.2]
    monkeypatch.setattr(envelope.time, "time", lambda: now[0])
    assert envelope.utc_timestamp() == "2023-11-14T22:13:20Z"
    now[0] = 1_700_000_000.9
    assert envelope.utc_timestamp() == "2023-11-14T22:13:20Z"
    now[0] = 1_700_000_001.0
    assert envelope.utc_timestamp() == "2023-11-14T22:13:21Z"
    now[0] = 1_600_000_000.0  # a clock stepped back is followed too
    assert envelope.utc_timestamp() == "2020-09-13T12:26:40Z"
    assert envelope.utc_timestamp(0) == "1970-01-01T00:00:00Z"


def test_meta_timestamp_is_the_real_current_second() -> None:
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    stamp = envelope.utc_timestamp()
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert stamp in {before, after}
