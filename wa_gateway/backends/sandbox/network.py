"""What goes wrong between a sandbox device and WhatsApp: a dropped connection, a stalled one, and the
watchdog that notices the stall (docs/engine.md, "Watchdog").

A dropped connection announces itself and reconnects after ``SANDBOX_RECONNECT_MS``. A stalled one is what
users meet with real sessions: the device stays "connected" while WhatsApp silently stops answering (sends
fail, nothing arrives), until the watchdog has seen ``WATCHDOG_SECONDS`` of silence and reconnects it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Final, Protocol

from wa_gateway.backends.sandbox.device import SandboxDevice
from wa_gateway.clock import Clock
from wa_gateway.engine import contract as c
from wa_gateway.engine.worker_stats import ReconnectInfo, WorkerStats
from wa_gateway.worker.liveness import Liveness

DROPPED_REASON: Final = "network connection lost (sandbox)"
STALLED_ERROR: Final = "WhatsApp did not answer: the session is stalled (sandbox)"

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


class NetworkHost(Protocol):
    clock: Clock

    def emit(self, token: str, event: str, data: dict[str, Any]) -> None: ...

    def is_current(self, device: SandboxDevice) -> bool: ...

    def set_connected(self, device: SandboxDevice) -> None: ...

    def lost_connection(self, device: SandboxDevice) -> None:
        """What a new connection must not inherit (presence subscriptions)."""
        ...

    def timer(self, coro: Coroutine[Any, Any, None]) -> Any: ...

    async def connected_for_control(self, args: dict[str, Any]) -> SandboxDevice: ...


class SandboxNetwork:
    def __init__(self, host: NetworkHost, *, reconnect_s: float, watchdog_s: float) -> None:
        self._host = host
        self._reconnect_s = reconnect_s
        self._watchdog_s = watchdog_s
        self.watchdog_reconnects = 0

    def operations(self) -> dict[str, ControlOp]:
        return {"disconnect": self.drop, "stall": self.stall}

    async def drop(self, args: dict[str, Any]) -> None:
        device = await self._host.connected_for_control(args)
        self._reconnect(device, c.EV_DISCONNECTED, DROPPED_REASON)

    async def stall(self, args: dict[str, Any]) -> None:
        device = await self._host.connected_for_control(args)
        # The last answer came now; the next keepalive goes unanswered.
        liveness = Liveness(self._host.clock, self._watchdog_s)
        liveness.keepalive_failed()
        device.stall = liveness
        if liveness.enabled:
            device.timer = self._host.timer(self._watch(device, liveness))

    def refuse_if_stalled(self, device: SandboxDevice) -> None:
        """A stalled session takes requests and never answers them."""
        if device.stall is not None:
            device.stall.send_failed()
            raise c.EngineError(c.E_ENGINE_FAILURE, STALLED_ERROR)

    def diagnostics(self, devices: Iterable[SandboxDevice]) -> WorkerStats:
        """Reported with every heartbeat (docs/health.md, "Engine figures")."""
        reconnecting: dict[str, ReconnectInfo] = {
            d.token: {"attempts": 1, "nextAttemptAt": d.next_attempt_at, "lastError": d.last_error}
            for d in devices
            if d.status == "reconnecting"
        }
        return {"devices": reconnecting, "stuckThreads": 0, "watchdogReconnects": self.watchdog_reconnects}

    async def _watch(self, device: SandboxDevice, liveness: Liveness) -> None:
        while (due := liveness.due_in()) is not None:
            await self._host.clock.sleep(due)
            if not self._host.is_current(device) or device.stall is not liveness:
                return
            reason = liveness.verdict()
            if reason is not None:
                self.watchdog_reconnects += 1
                self._reconnect(device, c.EV_RECONNECTING, reason)
                return

    def _reconnect(self, device: SandboxDevice, event: str, reason: str) -> None:
        device.status = "reconnecting"
        device.stall = None
        device.last_error = reason
        device.next_attempt_at = self._host.clock.time() + self._reconnect_s
        self._host.lost_connection(device)
        self._host.emit(device.token, event, {"reason": reason})
        device.timer = self._host.timer(self._reconnect_later(device))

    async def _reconnect_later(self, device: SandboxDevice) -> None:
        await self._host.clock.sleep(self._reconnect_s)
        if self._host.is_current(device) and device.status == "reconnecting":
            device.timer = None
            self._host.set_connected(device)
