"""Whether a device that believes it is connected still talks to WhatsApp (docs/engine.md, "Watchdog").

A session can die without its websocket closing: whatsmeow then keeps reporting "connected" while its
keepalive pings fail and nothing arrives, or every send times out. Each backend feeds one ``Liveness``
per connected device and asks it, when ``due_in`` says so, for a verdict; a stalled device is reconnected.
Nothing is armed while a device is healthy, so a quiet but live session costs no timer.
"""

from __future__ import annotations

from typing import Final

from wa_gateway.clock import Clock

DEFAULT_WATCHDOG_S: Final = 120.0


class Liveness:
    def __init__(self, clock: Clock, limit_s: float) -> None:
        self._clock = clock
        self.limit_s = limit_s
        self._last_traffic = clock.monotonic()
        self._keepalive_failing = False
        self._sends_failing_since: float | None = None

    @property
    def enabled(self) -> bool:
        return self.limit_s > 0

    def connected(self) -> None:
        """A fresh connection: everything it knew about the previous one is void."""
        self._last_traffic = self._clock.monotonic()
        self._keepalive_failing = False
        self._sends_failing_since = None

    def traffic(self) -> None:
        """Something arrived from WhatsApp."""
        self._last_traffic = self._clock.monotonic()

    def keepalive_failed(self) -> None:
        self._keepalive_failing = True

    def keepalive_restored(self) -> None:
        self._keepalive_failing = False
        self.traffic()

    def send_failed(self) -> None:
        if self._sends_failing_since is None:
            self._sends_failing_since = self._clock.monotonic()

    def send_succeeded(self) -> None:
        self._sends_failing_since = None
        self.traffic()

    @property
    def suspect(self) -> bool:
        """Keepalives or sends are failing: the watchdog should look again at ``due_in``."""
        return self.enabled and (self._keepalive_failing or self._sends_failing_since is not None)

    def due_in(self) -> float | None:
        """Seconds until a verdict could say "stalled"; None while nothing is failing."""
        if not self.suspect:
            return None
        now = self._clock.monotonic()
        candidates = []
        if self._keepalive_failing:
            candidates.append(self._last_traffic + self.limit_s - now)
        if self._sends_failing_since is not None:
            candidates.append(self._sends_failing_since + self.limit_s - now)
        return max(0.0, min(candidates))

    def verdict(self) -> str | None:
        """Why the session is considered dead, or None while it may still be alive."""
        if not self.enabled:
            return None
        now = self._clock.monotonic()
        silent = now - self._last_traffic
        if self._keepalive_failing and silent >= self.limit_s:
            return f"No answer from WhatsApp for {silent:.0f} s (keepalives failing); reconnecting"
        since = self._sends_failing_since
        if since is not None and now - since >= self.limit_s:
            return f"Every send failed for {now - since:.0f} s; reconnecting"
        return None
