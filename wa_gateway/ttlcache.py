"""A TTL dict cache for phone validation answers, one namespace per device.

Per device because a device's answer must not leak to a caller that names another token, and consulted
only after the device itself was checked (docs/go-gateway.md §6). Negative answers are
cached too, with the same TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from wa_gateway.clock import Clock

V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float


class TtlCache(Generic[V]):
    def __init__(self, ttl_seconds: float, clock: Clock, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._max = max_entries
        self._entries: dict[tuple[str, str], _Entry[V]] = {}

    def get(self, namespace: str, key: str) -> V | None:
        entry = self._entries.get((namespace, key))
        if entry is None:
            return None
        if self._clock.monotonic() >= entry.expires:
            del self._entries[(namespace, key)]
            return None
        return entry.value

    def put(self, namespace: str, key: str, value: V) -> None:
        if len(self._entries) >= self._max:
            self._purge_expired()
            while len(self._entries) >= self._max:
                # Dicts keep insertion order: drop the oldest entry.
                del self._entries[next(iter(self._entries))]
        self._entries[(namespace, key)] = _Entry(value, self._clock.monotonic() + self._ttl)

    def _purge_expired(self) -> None:
        now = self._clock.monotonic()
        for key in [k for k, e in self._entries.items() if now >= e.expires]:
            del self._entries[key]

    def live_count(self) -> int:
        self._purge_expired()
        return len(self._entries)

    def clear(self) -> int:
        """Drop everything; returns how many *live* entries were removed."""
        live = self.live_count()
        self._entries.clear()
        return live

    def drop_namespace(self, namespace: str) -> None:
        for key in [k for k in self._entries if k[0] == namespace]:
            del self._entries[key]
