"""Hand-rolled fixed-window rate limiting, keyed by client IP and route template.

Fixed 60 s windows as the Go gateway (docs/go-gateway.md §2), but keyed on the *route template*
(``/devices/{token}`` is one bucket, so case or trailing-slash variants cannot buy fresh quota), with the
usual headers, and with expired windows swept so memory stays bounded however many IPs pass (§19 item 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from wa_gateway.clock import Clock

WINDOW_SECONDS: Final = 60.0
# Sweep at most this often; between sweeps the map only holds windows opened in the last ~2 windows.
_SWEEP_EVERY_SECONDS: Final = WINDOW_SECONDS


@dataclass(slots=True)
class _Window:
    count: int
    resets_at: float  # monotonic


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the window resets
    reset_epoch: int  # the same moment as Unix seconds, for X-RateLimit-Reset

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.reset_after)))
        return out


class FixedWindowLimiter:
    """Counts hits per key in fixed windows; ``limit == 0`` disables the limiter."""

    def __init__(self, limit: int, clock: Clock, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self._clock = clock
        self._window = window
        self._windows: dict[str, _Window] = {}
        self._next_sweep = clock.monotonic() + _SWEEP_EVERY_SECONDS

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def __len__(self) -> int:
        return len(self._windows)

    def _current(self, key: str, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.resets_at:
            window = _Window(0, now + self._window)
            self._windows[key] = window
        return window

    def _decision(self, window: _Window, now: float, allowed: bool) -> Decision:
        reset_after = max(0.0, window.resets_at - now)
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - window.count),
            reset_after=reset_after,
            reset_epoch=math.ceil(self._clock.time() + reset_after),
        )

    def hit(self, key: str) -> Decision:
        """Count one request; a rejected request counts too but never extends the window."""
        now = self._clock.monotonic()
        self._maybe_sweep(now)
        window = self._current(key, now)
        window.count += 1
        return self._decision(window, now, window.count <= self.limit)

    def peek(self, key: str) -> Decision:
        """Whether one more hit would be allowed, without counting it."""
        now = self._clock.monotonic()
        window = self._windows.get(key)
        if window is None or now >= window.resets_at:
            return Decision(True, self.limit, self.limit, self._window, math.ceil(self._clock.time()))
        return self._decision(window, now, window.count < self.limit)

    def _maybe_sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_SECONDS
        expired = [key for key, window in self._windows.items() if now >= window.resets_at]
        for key in expired:
            del self._windows[key]
