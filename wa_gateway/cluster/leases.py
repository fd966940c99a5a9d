"""``LeaseKeeper``: which devices this node may run, renewed every third of the TTL, fenced before expiry.

The rules (docs/cluster.md "Leases" and "Fencing"):
- a lease is renewed every ``ttl / 3``; a renewal that succeeds keeps the device until ``ttl * 2 / 3`` after
  the renewal was sent (measured on this node's monotonic clock, so a slow answer only shortens it);
- past that point the device is stopped (self-fencing), a third of the TTL before any other node may take
  it: whatsmeow's own writes carry no fencing token, so the only safe owner is one that stopped in time;
- ``holds`` turns False at that same moment, so nothing is committed for the device afterwards;
- free and expired leases are taken up to this node's fair share of the devices over the live nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import asyncpg

from wa_gateway.clock import Clock
from wa_gateway.cluster.store import LeaseStore

log = logging.getLogger("wa_gateway.cluster")

# A fence check between renewals: fine enough that a device stops well inside the last third of the TTL.
FENCE_CHECKS_PER_TTL: Final = 12
DB_ERRORS: Final = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

DeviceHook = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class Held:
    generation: int
    # Monotonic time after which the device must not run any more (fence point).
    fence_at: float


class LeaseKeeper:
    def __init__(
        self,
        store: LeaseStore,
        *,
        node_id: str,
        node_url: str,
        ttl: float,
        clock: Clock,
        on_acquired: DeviceHook,
        on_lost: DeviceHook,
    ) -> None:
        self._store = store
        self.node_id = node_id
        self.node_url = node_url
        self.ttl = ttl
        self._clock = clock
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._held: dict[str, Held] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._hooks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self.reachable = True

    @property
    def interval(self) -> float:
        return self.ttl / 3

    # --- what the device layer asks -------------------------------------------------------------

    def holds(self, token: str) -> bool:
        """True while this node owns ``token`` and its fence point has not passed."""
        held = self._held.get(token)
        return held is not None and self._clock.monotonic() < held.fence_at

    def generation(self, token: str) -> int | None:
        held = self._held.get(token)
        return held.generation if held is not None and self.holds(token) else None

    def owned(self) -> list[str]:
        return sorted(t for t in self._held if self.holds(t))

    async def claim(self, token: str) -> bool:
        """Register ``token`` and take its lease if it is free (a device paired or restored here)."""
        if self.holds(token):
            return True
        async with self._lock:
            sent = self._clock.monotonic()
            generation = await self._store.claim(
                self.node_id, token, self._clock.time(), self.ttl, held=list(self._held)
            )
            if generation is None:
                return False
            self._adopt({token: generation}, sent, notify=False)
        return True

    async def forget(self, token: str) -> None:
        """The device was deleted: its lease row goes with it."""
        self._held.pop(token, None)
        await self._store.forget(token)

    async def stream_replaced(self, token: str) -> None:
        """WhatsApp kicked this node's connection: another client owns the device; never reconnect here."""
        held = self._held.pop(token, None)
        generation = held.generation if held is not None else -1
        log.warning("stream replaced: giving the device up", extra={"token": token})
        await self._store.stream_replaced(token, self.node_id, generation, self._clock.time())

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._store.open()
        # The engine is not up yet: what this first round takes is connected by the restore that follows.
        await self.tick(notify=False)
        self._tasks = [
            asyncio.create_task(self._renew_loop(), name="lease-renew"),
            asyncio.create_task(self._fence_loop(), name="lease-fence"),
        ]

    async def stop(self, stop_device: DeviceHook | None = None) -> None:
        """SIGTERM: stop the devices first, then free their leases so another node takes them at once."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._hooks, return_exceptions=True)
        self._tasks = []
        tokens = list(self._held)
        if stop_device is not None:
            for token in tokens:
                with contextlib.suppress(Exception):
                    await stop_device(token)
        self._held.clear()
        try:
            await self._store.release(self.node_id)
            await self._store.stopped(self.node_id)
        except DB_ERRORS as exc:
            log.warning("could not release leases; they expire after the TTL", extra={"error": str(exc)})

    # --- one round ------------------------------------------------------------------------------

    async def tick(self, *, notify: bool = True) -> None:
        """Heartbeat, renew what is held, fence what could not be renewed, take this node's share."""
        async with self._lock:
            sent = self._clock.monotonic()
            now = self._clock.time()
            try:
                async with asyncio.timeout(self.interval):
                    await self._store.heartbeat(self.node_id, self.node_url, now)
                    held = {t: h.generation for t, h in self._held.items()}
                    renewed = await self._store.renew(self.node_id, held, now, self.ttl)
                    for token in renewed:
                        self._held[token].fence_at = sent + self.ttl * 2 / 3
                    lost = set(held) - renewed
                    devices, nodes = await self._store.counts(now, self.ttl)
                    share = math.ceil(devices / max(nodes, 1))
                    free = share - (len(self._held) - len(lost))
                    keep = [t for t in self._held if t not in lost]
                    taken = await self._store.take(self.node_id, [], now, self.ttl, free, held=keep)
            except DB_ERRORS as exc:
                if self.reachable:
                    log.warning("database unreachable: leases not renewed", extra={"error": repr(exc)})
                self.reachable = False
                lost, taken = set(), {}
            else:
                self.reachable = True
            for token in lost:
                # Taken by another node, or expired: stop it now rather than at the fence point.
                self._fence(token)
            self._adopt(taken, sent, notify=notify)
        self.fence_expired()

    def fence_expired(self) -> list[str]:
        """Stop every device whose fence point has passed; returns their tokens."""
        now = self._clock.monotonic()
        late = [t for t, h in self._held.items() if now >= h.fence_at]
        for token in late:
            self._fence(token)
        return late

    def _fence(self, token: str) -> None:
        if self._held.pop(token, None) is None:
            return
        log.warning("lease lost: stopping the device", extra={"token": token})
        self._spawn(self._on_lost(token))

    def _adopt(self, taken: dict[str, int], sent: float, *, notify: bool) -> None:
        for token, generation in taken.items():
            self._held[token] = Held(generation, sent + self.ttl * 2 / 3)
            if notify:
                self._spawn(self._on_acquired(token))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._hooks.add(task)
        task.add_done_callback(self._hook_done)

    def _hook_done(self, task: asyncio.Task[None]) -> None:
        self._hooks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("device hook failed", exc_info=task.exception())

    async def _renew_loop(self) -> None:
        # Rounds start every interval, however long each took: sleeping a whole interval after a slow
        # round would send the next renewal after the fence point of the last one (2 intervals after
        # it was sent) once a round takes more than half an interval, and fence a healthy node.
        next_round = self._clock.monotonic() + self.interval
        while True:
            await self._clock.sleep(max(0.0, next_round - self._clock.monotonic()))
            next_round = self._clock.monotonic() + self.interval
            try:
                await self.tick()
            except Exception:
                log.exception("lease round failed")

    async def _fence_loop(self) -> None:
        while True:
            await self._clock.sleep(self.ttl / FENCE_CHECKS_PER_TTL)
            self.fence_expired()
