"""``DeviceManager``: the device operations (connect, delete, restore) over the three parts it composes:
the ``DeviceRegistry`` (state, per-device locks), the ``EventRouter`` (engine events, one ordered queue per
device) and the ``EngineClient`` (every engine call and its error mapping).

Worker loss goes ahead of whatever the dead worker left queued: those events are dropped (the next worker
replays the journaled ones) and the devices it served are marked disconnected at once, so restore never
reads a status the death made stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, Protocol

from wa_gateway import errors
from wa_gateway import vocabulary as v
from wa_gateway.clock import Clock
from wa_gateway.devices.engine_calls import EngineClient
from wa_gateway.devices.model import LIVE, Device, EngineLink
from wa_gateway.devices.registry import DeviceRegistry
from wa_gateway.devices.router import AckFn, EventRouter
from wa_gateway.devices.states import ENGINE_DOWN, DeviceStates
from wa_gateway.engine import contract as c
from wa_gateway.events.bus import EventBus
from wa_gateway.events.model import Event

log = logging.getLogger("wa_gateway.devices")

CONNECT_TIMEOUT_S: Final = 60.0
LOGOUT_TIMEOUT_S: Final = 30.0
PAIRING_CODE_WAIT_S: Final = 15.0
RESTORE_CONCURRENCY: Final = 4

# What the device received, handed to the inbound handler rather than the state machine.
INBOUND_EVENTS: Final = c.RECEIVED_EVENTS | {c.EV_PRESENCE}

InboundHandler = Callable[[str, str, dict[str, Any]], Awaitable[None]]
RemovedHook = Callable[[str], Awaitable[None]]
# Asked before a device starts on this node (docs/cluster.md "Devices"): ``asked`` is True for a connect a
# client requested here, False for a restore; False means another node runs it.
RunGate = Callable[[str, bool], Awaitable[bool]]
# What a connect must add to its engine arguments (the JID of a session stored in the cluster's database).
ConnectArgs = Callable[[str], Awaitable[dict[str, Any]]]
# Sessions kept outside the engine's own list ({"token", "paired"}), restored like the engine's.
SessionSource = Callable[[], Awaitable[list[dict[str, Any]]]]


class ClusterView(Protocol):
    """The devices of every node (docs/cluster.md "One view of the cluster")."""

    async def summaries(self, local: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def detail(self, token: str) -> dict[str, Any] | None: ...


class DeviceManager:
    def __init__(
        self,
        engine: EngineLink,
        bus: EventBus,
        *,
        clock: Clock,
        device_name: str,
        pairing_code_wait: float = PAIRING_CODE_WAIT_S,
        ack: AckFn | None = None,
    ) -> None:
        self._engine = EngineClient(engine)
        self._devices = DeviceRegistry()
        self._router = EventRouter(self._apply, ack)
        self._states = DeviceStates(bus, clock)
        self._device_name = device_name
        self._pairing_code_wait = pairing_code_wait
        self._tasks: set[asyncio.Task[None]] = set()
        self._inbound: InboundHandler | None = None
        self._removed_hooks: list[RemovedHook] = []
        self._may_run: RunGate | None = None
        self._connect_args: ConnectArgs | None = None
        self._session_source: SessionSource | None = None
        self._view: ClusterView | None = None
        self.restored = asyncio.Event()

    @property
    def engine(self) -> EngineClient:
        return self._engine

    def set_inbound_handler(self, handler: InboundHandler) -> None:
        """Who handles messages, receipts, history syncs and calls (see ``inbound.py``)."""
        self._inbound = handler

    def set_run_gate(self, gate: RunGate) -> None:
        self._may_run = gate

    def set_connect_args(self, source: ConnectArgs, sessions: SessionSource) -> None:
        """Sessions stored in the cluster's database: what a connect adds, and which sessions exist."""
        self._connect_args = source
        self._session_source = sessions

    def set_cluster_view(self, view: ClusterView) -> None:
        self._view = view

    def on_removed(self, hook: RemovedHook) -> None:
        """Called after DELETE /devices/{token} removed a device (contacts, caches)."""
        self._removed_hooks.append(hook)

    # --- lookups (the registry's) ---------------------------------------------------------------

    def is_known(self, token: str) -> bool:
        return self._devices.is_known(token)

    def get(self, token: str) -> Device | None:
        return self._devices.get(token)

    def require(self, token: str) -> Device:
        return self._devices.require(token)

    def require_connected(self, token: str) -> Device:
        return self._devices.require_connected(token)

    def summaries(self) -> list[dict[str, Any]]:
        return self._devices.summaries()

    def replay(self) -> Iterable[Event]:
        return self._devices.replay()

    async def cluster_summaries(self) -> list[dict[str, Any]]:
        """Every device of the cluster when this node is part of one, else this node's."""
        local = self.summaries()
        return local if self._view is None else await self._view.summaries(local)

    async def cluster_detail(self, token: str) -> dict[str, Any]:
        device = self._devices.get(token)
        if device is not None:
            return device.detail()
        found = None if self._view is None else await self._view.detail(token)
        if found is None:
            raise errors.ApiError(errors.DEVICE_NOT_FOUND)
        return found

    async def _engine_args(self, token: str, method: str) -> dict[str, Any]:
        args = {"token": token, "method": method, "device_name": self._device_name}
        if self._connect_args is not None:
            args.update(await self._connect_args(token))
        return args

    # --- operations -----------------------------------------------------------------------------

    async def connect(self, token: str, method: str) -> dict[str, Any]:
        while True:
            created = token not in self._devices
            device = self._devices.add(token)
            async with device.lock:
                if self._devices.get(token) is not device:
                    # A DELETE removed it while this waited: start over from a clean state.
                    continue
                return await self._connect_locked(device, token, method, created)

    async def _connect_locked(self, device: Device, token: str, method: str, created: bool) -> dict[str, Any]:
        if device.status == "connected":
            raise errors.ApiError(errors.DEVICE_ALREADY_CONNECTED)
        if self._may_run is not None and not await self._may_run(token, True):
            if created:
                self._devices.remove(token)
            raise errors.ApiError(errors.DEVICE_OWNED_ELSEWHERE)
        try:
            args = await self._engine_args(token, method)
        except errors.ApiError:
            if created:
                self._devices.remove(token)
            raise
        if device.status in LIVE:
            # A second POST while pairing starts over; stop the old flow so its codes stop coming.
            with contextlib.suppress(c.EngineError):
                await self._engine.request(c.CMD_DISCONNECT, {"token": token}, LOGOUT_TIMEOUT_S)
        device.qr = device.pairing_code = device.last_error = None
        device.code_arrived.clear()
        device.method = method
        device.status = "pairing"
        try:
            result = await self._engine.call(
                c.CMD_CONNECT,
                args,
                within=CONNECT_TIMEOUT_S,
                failure=errors.CONNECTION_FAILED,
                unavailable=errors.ENGINE_UNAVAILABLE,
            )
        except errors.ApiError as exc:
            device.status = "disconnected"
            device.last_error = exc.message
            if created:
                self._devices.remove(token)
            raise
        paired = bool(result.get("paired")) if isinstance(result, dict) else False
        if paired and device.status == "pairing":
            device.status = "connecting"
        data: dict[str, Any] = {"token": token, "method": method, "status": device.status}
        if method == "code" and not paired:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._pairing_code_wait):
                    await device.code_arrived.wait()
            data["code"] = device.pairing_code
        return data

    async def delete(self, token: str) -> None:
        device = self._devices.require(token)
        async with device.lock:
            try:
                await self._engine.call(
                    c.CMD_LOGOUT,
                    {"token": token},
                    within=LOGOUT_TIMEOUT_S,
                    failure=errors.INTERNAL_ERROR,
                    unavailable=errors.ENGINE_UNAVAILABLE,
                    tolerate=(c.E_DEVICE_NOT_FOUND,),
                )
            except errors.ApiError as exc:
                if exc.code == errors.ENGINE_UNAVAILABLE.code:
                    raise
                # Unlinking on WhatsApp's side failed; the local session is gone anyway (contract).
                log.warning("logout reported an error", extra={"error": exc.message})
            self._devices.remove(token)
            device.status = "logged_out"
        await self._states.logged_out(token, "deleted")
        for hook in self._removed_hooks:
            await hook(token)

    # --- engine lifecycle (called by the supervisor, in order) -----------------------------------

    def on_event(
        self, token: str, event: str, data: dict[str, Any], stamp: c.EventStamp | None = None
    ) -> None:
        self._router.route(token, event, data, stamp)

    def on_worker_down(self, reason: str) -> None:
        self._router.drop_queued()
        for device in self._devices.all():
            was_live = device.status in LIVE
            if was_live:
                device.status = "disconnected"
                device.qr = device.pairing_code = None
            self._router.route(device.token, ENGINE_DOWN, {"reason": reason, "wasLive": was_live})

    def on_worker_up(self, first_start: bool) -> None:
        task = asyncio.ensure_future(self.restore())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def restore(self) -> None:
        """Reconnect every paired session; list unpaired ones without starting a QR flow for them."""
        try:
            result = await self._engine.request(c.CMD_LIST_SESSIONS, {}, CONNECT_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("could not list sessions", extra={"error": exc.message})
            return
        sessions = result.get("sessions", []) if isinstance(result, dict) else []
        if self._session_source is not None:
            try:
                sessions = [*sessions, *await self._session_source()]
            except errors.ApiError as exc:
                log.warning("could not list the stored sessions", extra={"error": exc.message})
        paired: list[Device] = []
        for session in sessions:
            token = str(session.get("token", ""))
            if not v.is_valid_token(token):
                continue
            device = self._devices.add(token)
            if session.get("paired") and device.status not in v.ENDED_STATUSES:
                if self._may_run is None or await self._may_run(token, False):
                    paired.append(device)
        # Now that every device is known, what an earlier run left unacknowledged can be applied.
        try:
            await self._engine.request(c.CMD_REPLAY_EVENTS, {}, CONNECT_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("could not replay journaled events", extra={"error": exc.message})
        gate = asyncio.Semaphore(RESTORE_CONCURRENCY)
        await asyncio.gather(*(self._reconnect(d, gate) for d in paired))
        self.restored.set()
        log.info("sessions restored", extra={"paired": len(paired), "sessions": len(sessions)})

    async def adopt(self, token: str) -> None:
        """This node took over ``token`` (docs/cluster.md): connect its stored session here."""
        await self._reconnect(self._devices.add(token), asyncio.Semaphore(1))

    async def relinquish(self, token: str) -> None:
        """This node must stop running ``token`` (its lease is lost or the node stops): no reconnect."""
        device = self._devices.get(token)
        if device is None:
            return
        async with device.lock:
            with contextlib.suppress(c.EngineError):
                await self._engine.request(c.CMD_DISCONNECT, {"token": token}, LOGOUT_TIMEOUT_S)
            device.status = "disconnected"
            device.qr = device.pairing_code = None

    async def _reconnect(self, device: Device, gate: asyncio.Semaphore) -> None:
        async with gate, device.lock:
            if device.status == "connected" or device.token not in self._devices:
                return
            device.status = "connecting"
            try:
                args = await self._engine_args(device.token, "restore")
                await self._engine.request(c.CMD_CONNECT, args, CONNECT_TIMEOUT_S)
            except errors.ApiError as exc:
                device.status = "disconnected"
                device.last_error = exc.message
                log.warning("restore failed", extra={"error": exc.message})
            except c.EngineError as exc:
                if exc.code == c.E_ALREADY_CONNECTED:
                    return
                device.status = "disconnected"
                device.last_error = exc.message
                log.warning("restore failed", extra={"error": exc.message})

    async def drain(self, within: float) -> None:
        """Let queued events finish (bounded), so they reach the outbox before it closes."""
        await self._router.drain(within)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._router.close()

    async def _apply(self, token: str, event: str, data: dict[str, Any]) -> None:
        if event in INBOUND_EVENTS:
            if self._inbound is not None and token in self._devices:
                await self._inbound(token, event, data)
            return
        device = self._devices.get(token)
        if device is None:
            if event != c.EV_CONNECTED:
                return  # a late event for a deleted device
            device = self._devices.add(token)
        await self._states.apply(device, event, data)
