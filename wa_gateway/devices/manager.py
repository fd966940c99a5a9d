"""``DeviceManager``: one state machine per token, serialised operations, restore, and engine events.

Engine events for a token are applied by one consumer task per token, in the order the engine sent them,
so one device's slow work (a large history sync) never delays another's. A journaled event is
acknowledged to the engine once applied (its webhooks and contacts committed; docs/durability.md).
Worker loss goes ahead of whatever the dead worker left queued: those events are dropped (the next worker
replays the journaled ones) and the devices it served are marked disconnected at once, so restore never
reads a status the death made stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.clock import Clock
from wa_gateway.devices.engine_calls import call_engine
from wa_gateway.devices.model import LIVE, Device, EngineLink
from wa_gateway.engine import contract as c
from wa_gateway.event_ids import CURRENT_ORIGIN, EventOrigin
from wa_gateway.notify import Notifier
from wa_gateway.phone import is_valid_token
from wa_gateway.ws.hub import encode_event

log = logging.getLogger("wa_gateway.devices")

CONNECT_TIMEOUT_S: Final = 60.0
LOGOUT_TIMEOUT_S: Final = 30.0
PAIRING_CODE_WAIT_S: Final = 15.0
RESTORE_CONCURRENCY: Final = 4
# A synthetic per-token event: the worker that served this device is gone.
_ENGINE_DOWN: Final = "_engine_down"
SHUTDOWN_REASON: Final = "shutdown"

# What the device received, handed to the inbound handler rather than the state machine.
INBOUND_EVENTS: Final = c.RECEIVED_EVENTS | {c.EV_PRESENCE}

InboundHandler = Callable[[str, str, dict[str, Any]], Awaitable[None]]
RemovedHook = Callable[[str], Awaitable[None]]
# Asked before a device starts on this node (docs/cluster.md "Devices"): ``asked`` is True for a connect a
# client requested here, False for a restore; False means another node runs it.
RunGate = Callable[[str, bool], Awaitable[bool]]
AckFn = Callable[[list[int]], None]
_Queued = tuple[str, dict[str, Any], c.EventStamp | None]


class DeviceManager:
    def __init__(
        self,
        engine: EngineLink,
        notifier: Notifier,
        *,
        clock: Clock,
        device_name: str,
        pairing_code_wait: float = PAIRING_CODE_WAIT_S,
        ack: AckFn | None = None,
    ) -> None:
        self._engine = engine
        self._notifier = notifier
        self._clock = clock
        self._device_name = device_name
        self._pairing_code_wait = pairing_code_wait
        self._devices: dict[str, Device] = {}
        self._queues: dict[str, asyncio.Queue[_Queued]] = {}
        self._ack = ack
        self._acks: list[int] = []
        self._consumers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._inbound: InboundHandler | None = None
        self._removed_hooks: list[RemovedHook] = []
        self._may_run: RunGate | None = None
        self.restored = asyncio.Event()

    @property
    def engine(self) -> EngineLink:
        return self._engine

    def set_inbound_handler(self, handler: InboundHandler) -> None:
        """Who handles messages, receipts, history syncs and calls (see ``inbound.py``)."""
        self._inbound = handler

    def set_run_gate(self, gate: RunGate) -> None:
        self._may_run = gate

    def on_removed(self, hook: RemovedHook) -> None:
        """Called after DELETE /devices/{token} removed a device (contacts, caches)."""
        self._removed_hooks.append(hook)

    # --- lookups --------------------------------------------------------------------------------

    def is_known(self, token: str) -> bool:
        return token in self._devices

    def get(self, token: str) -> Device | None:
        return self._devices.get(token)

    def require(self, token: str) -> Device:
        device = self._devices.get(token)
        if device is None:
            raise errors.ApiError(errors.DEVICE_NOT_FOUND)
        return device

    def require_connected(self, token: str) -> Device:
        device = self.require(token)
        if device.status != "connected":
            raise errors.ApiError(errors.DEVICE_NOT_CONNECTED)
        return device

    def summaries(self) -> list[dict[str, Any]]:
        return [d.summary() for d in sorted(self._devices.values(), key=lambda d: d.token)]

    def replay(self) -> Iterable[tuple[str, str, bytes]]:
        """What a WebSocket client that authenticates now must see at once: codes of pairing devices."""
        for device in list(self._devices.values()):
            if device.status != "pairing":
                continue
            if device.qr:
                yield device.token, "qrcode", encode_event("qrcode", device.token, device.qr)
            if device.pairing_code:
                data = {"code": device.pairing_code}
                yield device.token, "pairing-code", encode_event("pairing-code", device.token, data)

    # --- operations -----------------------------------------------------------------------------

    async def connect(self, token: str, method: str) -> dict[str, Any]:
        while True:
            created = token not in self._devices
            device = self._devices.setdefault(token, Device(token))
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
                self._devices.pop(token, None)
            raise errors.ApiError(errors.DEVICE_OWNED_ELSEWHERE)
        if device.status in LIVE:
            # A second POST while pairing starts over; stop the old flow so its codes stop coming.
            with contextlib.suppress(c.EngineError):
                await self._engine.request(c.CMD_DISCONNECT, {"token": token}, LOGOUT_TIMEOUT_S)
        device.qr = device.pairing_code = device.last_error = None
        device.code_arrived.clear()
        device.method = method
        device.status = "pairing"
        try:
            result = await call_engine(
                self._engine,
                c.CMD_CONNECT,
                {"token": token, "method": method, "device_name": self._device_name},
                within=CONNECT_TIMEOUT_S,
                failure=errors.CONNECTION_FAILED,
                unavailable=errors.ENGINE_UNAVAILABLE,
            )
        except errors.ApiError as exc:
            device.status = "disconnected"
            device.last_error = exc.message
            if created:
                self._devices.pop(token, None)
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
        device = self.require(token)
        async with device.lock:
            try:
                await call_engine(
                    self._engine,
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
            self._devices.pop(token, None)
            device.status = "logged_out"
        self._notifier.device_event("connection-error", token, message=errors.WS_LOGGED_OUT)
        await self._notifier.webhook("device.logged_out", token, {"reason": "deleted"})
        for hook in self._removed_hooks:
            await hook(token)

    # --- engine lifecycle (called by the supervisor, in order) -----------------------------------

    def on_event(
        self, token: str, event: str, data: dict[str, Any], stamp: c.EventStamp | None = None
    ) -> None:
        queue = self._queues.get(token)
        if queue is None:
            queue = self._queues[token] = asyncio.Queue()
            self._consumers[token] = asyncio.create_task(self._consume(token, queue), name=f"events-{token}")
        queue.put_nowait((event, data, stamp))

    def on_worker_down(self, reason: str) -> None:
        for queue in self._queues.values():
            # Stale: state events of a dead connection, and journaled events the next worker replays.
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()
        for token, device in list(self._devices.items()):
            was_live = device.status in LIVE
            if was_live:
                device.status = "disconnected"
                device.qr = device.pairing_code = None
            self.on_event(token, _ENGINE_DOWN, {"reason": reason, "wasLive": was_live})

    def on_worker_up(self, first_start: bool) -> None:
        self._spawn(self.restore())

    async def restore(self) -> None:
        """Reconnect every paired session; list unpaired ones without starting a QR flow for them."""
        try:
            result = await self._engine.request(c.CMD_LIST_SESSIONS, {}, CONNECT_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("could not list sessions", extra={"error": exc.message})
            return
        sessions = result.get("sessions", []) if isinstance(result, dict) else []
        paired: list[Device] = []
        for session in sessions:
            token = str(session.get("token", ""))
            if not is_valid_token(token):
                continue
            device = self._devices.setdefault(token, Device(token))
            if session.get("paired") and device.status not in ("logged_out", "banned"):
                if self._may_run is None or await self._may_run(token, False):
                    paired.append(device)
        # Now that every device is known, what an earlier run left unacknowledged can be applied.
        try:
            await self._engine.request(c.CMD_REPLAY_EVENTS, {}, CONNECT_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("could not replay journaled events", extra={"error": exc.message})
        gate = asyncio.Semaphore(RESTORE_CONCURRENCY)

        async def reconnect(device: Device) -> None:
            async with gate:
                await self._reconnect(device)

        await asyncio.gather(*(reconnect(d) for d in paired))
        self.restored.set()
        log.info("sessions restored", extra={"paired": len(paired), "sessions": len(sessions)})

    async def adopt(self, token: str) -> None:
        """This node took over ``token`` (docs/cluster.md): connect its stored session here."""
        await self._reconnect(self._devices.setdefault(token, Device(token)))

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

    async def _reconnect(self, device: Device) -> None:
        async with device.lock:
            if device.status == "connected" or device.token not in self._devices:
                return
            device.status = "connecting"
            try:
                await self._engine.request(
                    c.CMD_CONNECT,
                    {"token": device.token, "method": "restore", "device_name": self._device_name},
                    CONNECT_TIMEOUT_S,
                )
            except c.EngineError as exc:
                if exc.code == c.E_ALREADY_CONNECTED:
                    return
                device.status = "disconnected"
                device.last_error = exc.message
                log.warning("restore failed", extra={"error": exc.message})

    async def drain(self, within: float) -> None:
        """Let queued events finish (bounded), so they reach the outbox before it closes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                for queue in list(self._queues.values()):
                    await queue.join()

    async def close(self) -> None:
        tasks = [*self._tasks, *self._consumers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- applying events ------------------------------------------------------------------------

    async def _consume(self, token: str, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            event, data, stamp = await queue.get()
            origin = CURRENT_ORIGIN.set(EventOrigin(stamp.event_id) if stamp is not None else None)
            try:
                await self._apply(token, event, data)
            except Exception:
                # Not acknowledged: the journal keeps it, and the next worker replays it.
                log.exception("failed to apply engine event", extra={"event": event})
            else:
                if stamp is not None:
                    self._acknowledge(stamp.seq)
            finally:
                CURRENT_ORIGIN.reset(origin)
                queue.task_done()

    def _acknowledge(self, seq: int) -> None:
        if self._ack is None:
            return
        if not self._acks:
            # Acks of one loop iteration travel in one frame.
            asyncio.get_running_loop().call_soon(self._flush_acks)
        self._acks.append(seq)

    def _flush_acks(self) -> None:
        seqs, self._acks = self._acks, []
        if self._ack is not None:
            self._ack(seqs)

    async def _apply(self, token: str, event: str, data: dict[str, Any]) -> None:
        if event in INBOUND_EVENTS:
            if self._inbound is not None and token in self._devices:
                await self._inbound(token, event, data)
            return
        device = self._devices.get(token)
        if device is None:
            if event != c.EV_CONNECTED:
                return  # a late event for a deleted device
            device = self._devices[token] = Device(token)
        await _STATE_HANDLERS.get(event, _ignore)(self, device, data)

    async def _on_qr(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "pairing"
        device.qr = str(data.get("code", ""))
        self._notifier.device_event("qrcode", device.token, device.qr)

    async def _on_pairing_code(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "pairing"
        device.pairing_code = str(data.get("code", ""))
        device.code_arrived.set()
        self._notifier.device_event("pairing-code", device.token, {"code": device.pairing_code})

    async def _on_connected(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "connected"
        device.jid = data.get("jid") or device.jid
        device.push_name = data.get("pushName") or device.push_name
        device.connected_at = self._clock.time()
        device.qr = device.pairing_code = device.last_error = None
        device.ban_expires = None
        self._notifier.device_event("connection-success", device.token)
        await self._notifier.webhook(
            "device.connected", device.token, {"jid": device.jid, "pushName": device.push_name}
        )

    async def _on_disconnected(self, device: Device, data: dict[str, Any]) -> None:
        if device.status in ("disconnected", "logged_out", "banned"):
            return
        device.status = "disconnected"
        device.qr = device.pairing_code = None
        reason = str(data.get("reason") or "disconnected")
        if reason == SHUTDOWN_REASON:
            return
        await self._announce_disconnected(device, reason)

    async def _announce_disconnected(self, device: Device, reason: str) -> None:
        self._notifier.device_event("connection-error", device.token, message=errors.WS_DISCONNECTED)
        await self._notifier.webhook("device.disconnected", device.token, {"reason": reason})

    async def _on_logged_out(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "logged_out"
        device.qr = device.pairing_code = None
        device.connected_at = None
        self._notifier.device_event("connection-error", device.token, message=errors.WS_LOGGED_OUT)
        reason = str(data.get("reason") or "logged out")
        await self._notifier.webhook("device.logged_out", device.token, {"reason": reason})

    async def _on_qr_timeout(self, device: Device, data: dict[str, Any]) -> None:
        if device.status != "pairing":
            return
        device.status = "disconnected"
        device.qr = device.pairing_code = None
        self._notifier.device_event("connection-error", device.token, message=errors.WS_QR_EXPIRED)
        await self._notifier.webhook("device.qr_expired", device.token, {})

    async def _on_connect_failure(self, device: Device, data: dict[str, Any]) -> None:
        reason = str(data.get("reason") or "unknown error")
        code = data.get("code")
        device.last_error = reason
        device.status = "connecting" if data.get("retrying") else "disconnected"
        device.qr = device.pairing_code = None
        text = f"{code}: {reason}" if code is not None else reason
        self._notifier.device_event("connection-error", device.token, message=f"Connection failed: {text}")

    async def _on_banned(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "banned"
        expires = data.get("expires")
        device.ban_expires = float(expires) if isinstance(expires, int | float) else None
        self._notifier.device_event("connection-error", device.token, message="Temporarily banned")
        payload = {"code": data.get("code"), "expires": device.detail()["banExpires"]}
        await self._notifier.webhook("device.banned", device.token, payload)

    async def _on_engine_down(self, device: Device, data: dict[str, Any]) -> None:
        # on_worker_down already marked the device disconnected; this tells the clients, in event order.
        if not data.get("wasLive") or str(data.get("reason")) == SHUTDOWN_REASON:
            return
        self._notifier.device_event("connection-error", device.token, message=errors.WS_DISCONNECTED)
        await self._notifier.webhook("device.disconnected", device.token, {"reason": "engine stopped"})


async def _ignore(manager: DeviceManager, device: Device, data: dict[str, Any]) -> None:
    return None


_STATE_HANDLERS: Final[dict[str, Callable[[DeviceManager, Device, dict[str, Any]], Awaitable[None]]]] = {
    c.EV_QR: DeviceManager._on_qr,
    c.EV_PAIRING_CODE: DeviceManager._on_pairing_code,
    c.EV_CONNECTED: DeviceManager._on_connected,
    c.EV_DISCONNECTED: DeviceManager._on_disconnected,
    c.EV_LOGGED_OUT: DeviceManager._on_logged_out,
    c.EV_QR_TIMEOUT: DeviceManager._on_qr_timeout,
    c.EV_CONNECT_FAILURE: DeviceManager._on_connect_failure,
    c.EV_BANNED: DeviceManager._on_banned,
    _ENGINE_DOWN: DeviceManager._on_engine_down,
}
