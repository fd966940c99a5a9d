"""How engine state events move a device's state machine, and the events each move publishes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from wa_gateway import errors
from wa_gateway import vocabulary as v
from wa_gateway.clock import Clock
from wa_gateway.devices.model import Device
from wa_gateway.engine import contract as c
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus

# A synthetic per-token event: the worker that served this device is gone.
ENGINE_DOWN: Final = "_engine_down"
SHUTDOWN_REASON: Final = "shutdown"


class DeviceStates:
    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock

    async def apply(self, device: Device, event: str, data: dict[str, Any]) -> None:
        handler = _HANDLERS.get(event)
        if handler is not None:
            await handler(self, device, data)

    async def logged_out(self, token: str, reason: str) -> None:
        await self._bus.publish(ev.CONNECTION_ERROR(token, message=errors.WS_LOGGED_OUT))
        await self._bus.publish(ev.DEVICE_LOGGED_OUT(token, {"reason": reason}))

    async def _disconnected(self, token: str, reason: str) -> None:
        await self._bus.publish(ev.CONNECTION_ERROR(token, message=errors.WS_DISCONNECTED))
        await self._bus.publish(ev.DEVICE_DISCONNECTED(token, {"reason": reason}))

    async def _on_qr(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "pairing"
        device.qr = str(data.get("code", ""))
        await self._bus.publish(ev.QRCODE(device.token, device.qr))

    async def _on_pairing_code(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "pairing"
        device.pairing_code = str(data.get("code", ""))
        device.code_arrived.set()
        await self._bus.publish(ev.PAIRING_CODE(device.token, {"code": device.pairing_code}))

    async def _on_connected(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "connected"
        device.jid = data.get("jid") or device.jid
        device.push_name = data.get("pushName") or device.push_name
        device.connected_at = self._clock.time()
        device.qr = device.pairing_code = device.last_error = None
        device.ban_expires = None
        await self._bus.publish(ev.CONNECTION_SUCCESS(device.token))
        await self._bus.publish(
            ev.DEVICE_CONNECTED(device.token, {"jid": device.jid, "pushName": device.push_name})
        )

    async def _on_disconnected(self, device: Device, data: dict[str, Any]) -> None:
        if device.status == "disconnected" or device.status in v.ENDED_STATUSES:
            return
        device.status = "disconnected"
        device.qr = device.pairing_code = None
        reason = str(data.get("reason") or "disconnected")
        if reason != SHUTDOWN_REASON:
            await self._disconnected(device.token, reason)

    async def _on_reconnecting(self, device: Device, data: dict[str, Any]) -> None:
        # The engine's watchdog dropped a session that looked connected but was dead (docs/engine.md).
        device.status = "connecting"
        device.last_error = reason = str(data.get("reason") or "connection stalled")
        await self._bus.publish(ev.CONNECTION_ERROR(device.token, message=errors.WS_DISCONNECTED))
        await self._bus.publish(ev.DEVICE_RECONNECTING(device.token, {"reason": reason}))

    async def _on_logged_out(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "logged_out"
        device.qr = device.pairing_code = None
        device.connected_at = None
        await self.logged_out(device.token, str(data.get("reason") or "logged out"))

    async def _on_qr_timeout(self, device: Device, data: dict[str, Any]) -> None:
        if device.status != "pairing":
            return
        device.status = "disconnected"
        device.qr = device.pairing_code = None
        await self._bus.publish(ev.CONNECTION_ERROR(device.token, message=errors.WS_QR_EXPIRED))
        await self._bus.publish(ev.DEVICE_QR_EXPIRED(device.token, {}))

    async def _on_connect_failure(self, device: Device, data: dict[str, Any]) -> None:
        reason = str(data.get("reason") or "unknown error")
        code = data.get("code")
        device.last_error = reason
        device.status = "connecting" if data.get("retrying") else "disconnected"
        device.qr = device.pairing_code = None
        text = f"{code}: {reason}" if code is not None else reason
        await self._bus.publish(ev.CONNECTION_ERROR(device.token, message=f"Connection failed: {text}"))

    async def _on_banned(self, device: Device, data: dict[str, Any]) -> None:
        device.status = "banned"
        expires = data.get("expires")
        device.ban_expires = float(expires) if isinstance(expires, int | float) else None
        await self._bus.publish(ev.CONNECTION_ERROR(device.token, message="Temporarily banned"))
        payload = {"code": data.get("code"), "expires": device.detail()["banExpires"]}
        await self._bus.publish(ev.DEVICE_BANNED(device.token, payload))

    async def _on_engine_down(self, device: Device, data: dict[str, Any]) -> None:
        # The worker's death already marked the device disconnected; this tells the clients, in event order.
        if data.get("wasLive") and str(data.get("reason")) != SHUTDOWN_REASON:
            await self._disconnected(device.token, "engine stopped")


_HANDLERS: Final[dict[str, Callable[[DeviceStates, Device, dict[str, Any]], Awaitable[None]]]] = {
    c.EV_QR: DeviceStates._on_qr,
    c.EV_PAIRING_CODE: DeviceStates._on_pairing_code,
    c.EV_CONNECTED: DeviceStates._on_connected,
    c.EV_DISCONNECTED: DeviceStates._on_disconnected,
    c.EV_RECONNECTING: DeviceStates._on_reconnecting,
    c.EV_LOGGED_OUT: DeviceStates._on_logged_out,
    c.EV_QR_TIMEOUT: DeviceStates._on_qr_timeout,
    c.EV_CONNECT_FAILURE: DeviceStates._on_connect_failure,
    c.EV_BANNED: DeviceStates._on_banned,
    ENGINE_DOWN: DeviceStates._on_engine_down,
}
