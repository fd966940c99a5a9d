"""The sandbox engine: a simulated WhatsApp network behind the engine contract (DESIGN.md "Engines")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from wa_gateway.clock import Clock, SystemClock
from wa_gateway.engine import contract as c
from wa_gateway.engine.sandbox_args import (
    GROUP_SERVER,
    USER_SERVER,
    arg_phone,
    arg_token,
    chat_jid,
    check_phone,
    check_token,
    optional_text,
    positive_int,
)
from wa_gateway.engine.sandbox_ids import message_id, pairing_code, qr_payload
from wa_gateway.engine.sandbox_store import SandboxStore, SentMessage

DEFAULT_QR_REFRESH_MS: Final = 20_000
DEFAULT_QR_CODES: Final = 6
DEFAULT_RECONNECT_MS: Final = 1_000
DEFAULT_PUSH_NAME: Final = "Sandbox User"


log = logging.getLogger("wa_gateway.engine.sandbox")

DeviceStatus = Literal["pairing", "connected", "reconnecting", "stopped"]
_ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(eq=False)
class _Device:
    """A simulated client: exists from connect until disconnect, logout or an expired pairing."""

    token: str
    status: DeviceStatus
    jid: str = ""
    push_name: str = ""
    # The pairing flow (QR refresh / code expiry) or the pending automatic reconnect.
    timer: asyncio.Task[None] | None = None
    # asyncio.Lock wakes waiters in FIFO order: sends on one device go out in request order.
    sends: asyncio.Lock = field(default_factory=asyncio.Lock)


class SandboxBackend:
    name = "sandbox"

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock,
        qr_refresh_ms: int = DEFAULT_QR_REFRESH_MS,
        qr_codes: int = DEFAULT_QR_CODES,
        reconnect_ms: int = DEFAULT_RECONNECT_MS,
    ) -> None:
        self._store = SandboxStore(data_dir)
        self._clock = clock
        self._qr_refresh = qr_refresh_ms / 1000
        self._qr_codes = qr_codes
        self._reconnect_delay = reconnect_ms / 1000
        self._devices: dict[str, _Device] = {}
        self._lifecycle: dict[str, asyncio.Lock] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._closed = False
        self._emit: c.EmitFn = _drop_event
        self._control_ops: dict[str, _ControlOp] = {
            "link": self._op_link,
            "message": self._op_message,
            "receipt": self._op_receipt,
            "history_sync": self._op_history_sync,
            "disconnect": self._op_disconnect,
            "logout": self._op_logout,
            "set_number": self._op_set_number,
            "sent": self._op_sent,
        }

    # --- contract -------------------------------------------------------------------------------

    async def start(self, emit: c.EmitFn) -> None:
        self._emit = emit
        await self._store.open()
        log.warning(
            "engine: sandbox, a simulated WhatsApp network; nothing is sent to WhatsApp (data in %s)",
            self._store.data_dir,
        )

    async def connect(self, token: str, method: c.ConnectMethod, device_name: str) -> dict[str, Any]:
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                if device.status == "connected":
                    raise c.EngineError(c.E_ALREADY_CONNECTED, f"device {token} is already connected")
                if device.status == "reconnecting":
                    self._set_connected(device)  # asked to connect while the network is down: try now
                    return {"paired": True}
                if method == "restore":
                    return {"paired": False}
                self._forget(device)  # a new pairing attempt replaces the running one
            record = await self._store.load_session(token)
            if record is not None and record.paired:
                device = self._add(_Device(token, "pairing", record.jid, record.push_name))
                self._set_connected(device)
                return {"paired": True}
            if method == "restore":
                return {"paired": False}
            if record is None:
                await self._store.create_session(token)
            device = self._add(_Device(token, "pairing"))
            if method == "qr":
                self._emit(token, c.EV_QR, {"code": qr_payload()})
                device.timer = self._timer(self._qr_flow(device))
            else:
                self._emit(token, c.EV_PAIRING_CODE, {"code": pairing_code()})
                device.timer = self._timer(self._expire_pairing(device, self._qr_refresh * self._qr_codes))
            return {"paired": False}

    async def disconnect(self, token: str) -> None:
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                self._forget(device)

    async def logout(self, token: str) -> None:
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                self._forget(device)
            await self._store.delete_session(token)

    async def send_text(self, token: str, to: str, text: str, typing_ms: int) -> dict[str, Any]:
        device = self._connected(token)
        async with device.sends:
            self._require_still_connected(device)
            composing_at = self._clock.time()
            if typing_ms > 0:
                await self._clock.sleep(typing_ms / 1000)
            paused_at = self._clock.time()
            self._require_still_connected(device)
            sent = SentMessage(
                id=message_id(),
                to=to,
                text=text,
                timestamp=self._clock.time(),
                presence=(("composing", composing_at), ("paused", paused_at)),
            )
            await self._store.add_sent(token, sent)
        return {"id": sent.id, "timestamp": sent.timestamp}

    async def check_numbers(self, token: str, phones: list[str]) -> list[c.NumberCheck]:
        self._connected(token)
        for phone in phones:
            check_phone(phone, "phones")
        registered = await self._store.registered_numbers(phones)
        return [
            {"phone": phone, "isOnWhatsApp": registered[phone], "jid": phone + USER_SERVER}
            for phone in phones
        ]

    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None:
        self._connected(token)
        await self._store.add_read(token, ids)

    async def list_sessions(self) -> list[dict[str, Any]]:
        return await self._store.list_sessions()

    async def status(self) -> list[dict[str, Any]]:
        return [
            {
                "token": d.token,
                "status": "disconnected" if d.status == "reconnecting" else d.status,
                "jid": d.jid,
                "pushName": d.push_name,
            }
            for d in self._devices.values()
        ]

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        handler = self._control_ops.get(op)
        if handler is None:
            raise c.EngineError(c.E_UNKNOWN_COMMAND, f"unknown sandbox operation {op!r}")
        return await handler(args)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for device in list(self._devices.values()):
            self._forget(device)
        timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._emit = _drop_event
        await self._store.close()

    # --- control operations (the sandbox routes) ------------------------------------------------

    async def _op_link(self, args: dict[str, Any]) -> dict[str, Any]:
        token = arg_token(args)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is None:
                await self._require_known(token)
                raise c.EngineError(c.E_INVALID_ARGUMENT, f"device {token} is not pairing; connect it first")
            if device.status != "pairing":
                raise c.EngineError(c.E_ALREADY_CONNECTED, f"device {token} is already linked")
            push_name = optional_text(args, "pushName") or DEFAULT_PUSH_NAME
            jid = token + USER_SERVER
            self._cancel_timer(device)  # the pairing must not expire while the pairing is being saved
            await self._store.save_pairing(token, jid, push_name, self._clock.time())
            device.jid, device.push_name = jid, push_name
            self._set_connected(device)
        return {"jid": jid, "pushName": push_name}

    async def _op_message(self, args: dict[str, Any]) -> dict[str, Any]:
        device = await self._connected_for_control(args)
        sender = arg_phone(args, "from")
        text = args.get("text")
        if not isinstance(text, str):
            raise c.EngineError(c.E_INVALID_ARGUMENT, "text must be a string")
        chat = chat_jid(args.get("chat"), sender)
        message: c.IncomingMessage = {
            "id": optional_text(args, "id") or message_id(),
            "from": sender + USER_SERVER,
            "chat": chat,
            "pushName": optional_text(args, "pushName") or "",
            "text": text,
            "type": "text",
            "timestamp": self._clock.time(),
            "isGroup": chat.endswith(GROUP_SERVER),
            "fromMe": False,
            "senderPhone": sender,
        }
        self._emit(device.token, c.EV_MESSAGE, dict(message))
        return {"id": message["id"]}

    async def _op_receipt(self, args: dict[str, Any]) -> None:
        device = await self._connected_for_control(args)
        kind = args.get("type")
        if kind not in c.RECEIPT_TYPES:
            raise c.EngineError(c.E_INVALID_ARGUMENT, f"type must be one of {', '.join(c.RECEIPT_TYPES)}")
        ids = args.get("messageIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise c.EngineError(c.E_INVALID_ARGUMENT, "messageIds must be a non-empty list of strings")
        sender = arg_phone(args, "from") + USER_SERVER
        receipt: c.Receipt = {
            "type": kind,
            "messageIds": ids,
            "from": sender,
            "chat": sender,
            "timestamp": self._clock.time(),
        }
        self._emit(device.token, c.EV_RECEIPT, dict(receipt))

    async def _op_history_sync(self, args: dict[str, Any]) -> None:
        device = await self._connected_for_control(args)
        contacts = args.get("contacts")
        if not isinstance(contacts, list):
            raise c.EngineError(c.E_INVALID_ARGUMENT, "contacts must be a list")
        batch = []
        for entry in contacts:
            if not isinstance(entry, dict):
                raise c.EngineError(c.E_INVALID_ARGUMENT, "each contact must be an object")
            name = entry.get("name", "")
            if not isinstance(name, str):
                raise c.EngineError(c.E_INVALID_ARGUMENT, "contact name must be a string")
            batch.append({"phone": arg_phone(entry, "phone"), "name": name})
        self._emit(device.token, c.EV_HISTORY_SYNC, {"contacts": batch})

    async def _op_disconnect(self, args: dict[str, Any]) -> None:
        device = await self._connected_for_control(args)
        device.status = "reconnecting"
        self._emit(device.token, c.EV_DISCONNECTED, {"reason": "network connection lost (sandbox)"})
        device.timer = self._timer(self._reconnect_later(device))

    async def _op_logout(self, args: dict[str, Any]) -> None:
        token = arg_token(args)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is None:
                await self._require_known(token)
            else:
                self._forget(device)
            await self._store.delete_session(token)
        self._emit(token, c.EV_LOGGED_OUT, {"reason": "device unlinked from the phone (sandbox)"})

    async def _op_set_number(self, args: dict[str, Any]) -> dict[str, Any]:
        phone = arg_phone(args, "phone")
        registered = args.get("registered", True)
        if not isinstance(registered, bool):
            raise c.EngineError(c.E_INVALID_ARGUMENT, "registered must be a boolean")
        await self._store.set_number(phone, registered)
        return {"phone": phone, "registered": registered}

    async def _op_sent(self, args: dict[str, Any]) -> dict[str, Any]:
        token = arg_token(args)
        await self._require_known(token)
        return await self._store.sent_log(token)

    # --- device life cycle ----------------------------------------------------------------------

    def _lock(self, token: str) -> asyncio.Lock:
        return self._lifecycle.setdefault(token, asyncio.Lock())

    def _add(self, device: _Device) -> _Device:
        self._devices[device.token] = device
        return device

    def _forget(self, device: _Device) -> None:
        """Stop the simulated client; its timers are cancelled so no stale event follows."""
        if self._devices.get(device.token) is device:
            del self._devices[device.token]
        self._cancel_timer(device)
        device.status = "stopped"

    def _cancel_timer(self, device: _Device) -> None:
        if device.timer is not None and device.timer is not asyncio.current_task():
            device.timer.cancel()
        device.timer = None

    def _set_connected(self, device: _Device) -> None:
        self._cancel_timer(device)
        device.status = "connected"
        self._emit(device.token, c.EV_CONNECTED, {"jid": device.jid, "pushName": device.push_name})

    def _timer(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        return task

    async def _qr_flow(self, device: _Device) -> None:
        for _ in range(self._qr_codes - 1):
            await self._clock.sleep(self._qr_refresh)
            self._emit(device.token, c.EV_QR, {"code": qr_payload()})
        await self._expire_pairing(device, self._qr_refresh)

    async def _expire_pairing(self, device: _Device, after: float) -> None:
        await self._clock.sleep(after)
        if self._devices.get(device.token) is device and device.status == "pairing":
            self._forget(device)
            self._emit(device.token, c.EV_QR_TIMEOUT, {})

    async def _reconnect_later(self, device: _Device) -> None:
        await self._clock.sleep(self._reconnect_delay)
        if self._devices.get(device.token) is device and device.status == "reconnecting":
            device.timer = None
            self._set_connected(device)

    def _connected(self, token: str) -> _Device:
        device = self._devices.get(token)
        if device is None or device.status != "connected":
            raise c.EngineError(c.E_DEVICE_NOT_CONNECTED, f"device {token} is not connected")
        return device

    def _require_still_connected(self, device: _Device) -> None:
        if self._devices.get(device.token) is not device or device.status != "connected":
            raise c.EngineError(c.E_DEVICE_NOT_CONNECTED, f"device {device.token} is not connected")

    async def _require_known(self, token: str) -> None:
        if token not in self._devices and not await self._store.session_exists(token):
            raise c.EngineError(c.E_DEVICE_NOT_FOUND, f"device {token} not found")

    async def _connected_for_control(self, args: dict[str, Any]) -> _Device:
        token = arg_token(args)
        await self._require_known(token)
        return self._connected(token)


async def create_backend(config: dict[str, Any]) -> SandboxBackend:
    data_dir = config.get("data_dir")
    if not isinstance(data_dir, str) or not data_dir:
        raise ValueError("sandbox engine needs data_dir")
    return SandboxBackend(
        Path(data_dir),
        clock=SystemClock(),
        qr_refresh_ms=positive_int(config, "sandbox_qr_refresh_ms", DEFAULT_QR_REFRESH_MS),
        qr_codes=positive_int(config, "sandbox_qr_codes", DEFAULT_QR_CODES),
        reconnect_ms=positive_int(config, "sandbox_reconnect_ms", DEFAULT_RECONNECT_MS),
    )


def _drop_event(token: str, event: str, data: dict[str, Any]) -> None:
    log.debug("sandbox event %s for %s dropped: backend not started", event, token)
