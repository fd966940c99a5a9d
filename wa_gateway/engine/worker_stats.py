"""What the engine worker reports about itself with every heartbeat answer (pong ``stats``), and the
gateway's running totals of it across worker restarts (docs/health.md, "Engine figures")."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final, TypedDict

log = logging.getLogger("wa_gateway.engine.worker")

# Counters a worker keeps from its start; the gateway adds those of the workers before it.
COUNTERS: Final = ("lostEventSessions", "watchdogReconnects")


class ReconnectInfo(TypedDict):
    attempts: int  # failed connects in a row
    nextAttemptAt: float | None  # Unix seconds; None while an attempt runs or after giving up
    lastError: str | None


class WorkerStats(TypedDict, total=False):
    devices: dict[str, ReconnectInfo]  # only devices that are reconnecting
    firstSync: dict[str, int]  # devices linked just now: progress (%) of their first history sync
    stuckThreads: int  # engine threads a stop could not end (docs/engine.md, "Stopping")
    lostEventSessions: int  # sessions that ended because an event could not be delivered
    watchdogReconnects: int  # dead-looking sessions the watchdog reconnected


def stats_of(backend: Any) -> WorkerStats:
    """The backend's figures, or none when it keeps none or cannot tell (worker side)."""
    diagnostics = getattr(backend, "diagnostics", None)
    if not callable(diagnostics):
        return {}
    try:
        stats: WorkerStats = diagnostics()
    except Exception:
        log.exception("engine backend could not report its figures")
        return {}
    return stats


def _count(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class StatsTotals:
    """The last figures of the live worker, plus the counters of the workers that went before it."""

    def __init__(self) -> None:
        self._earlier = dict.fromkeys(COUNTERS, 0)
        self.live: Mapping[str, Any] = {}

    def update(self, stats: Any) -> None:
        if isinstance(stats, dict):
            self.live = stats

    def worker_ended(self) -> None:
        for key in COUNTERS:
            self._earlier[key] += _count(self.live, key)
        self.live = {}

    def counter(self, key: str) -> int:
        return self._earlier[key] + _count(self.live, key)

    @property
    def stuck_threads(self) -> int:
        return _count(self.live, "stuckThreads")

    def first_sync(self) -> dict[str, int]:
        progress = self.live.get("firstSync")
        if not isinstance(progress, dict):
            return {}
        return {str(token): value for token, value in progress.items() if isinstance(value, int)}

    def reconnecting(self) -> dict[str, dict[str, Any]]:
        devices = self.live.get("devices")
        if not isinstance(devices, dict):
            return {}
        return {str(token): dict(info) for token, info in devices.items() if isinstance(info, dict)}
