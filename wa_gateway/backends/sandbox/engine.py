"""The sandbox engine: a simulated WhatsApp network behind the engine contract
(docs/architecture.md "Engines").

This module runs devices' lives (pairing, sessions, network drops); ``sandbox_messaging`` is what devices
send and ``sandbox_peers`` plays the people on the other side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Final

from wa_gateway.backends.sandbox import media_server
from wa_gateway.backends.sandbox.args import (
    USER_SERVER,
    arg_token,
    check_phone,
    check_token,
    non_negative,
    optional_text,
    positive_int,
)
from wa_gateway.backends.sandbox.channels import SandboxChannels
from wa_gateway.backends.sandbox.device import SandboxDevice
from wa_gateway.backends.sandbox.group_control import GroupControl
from wa_gateway.backends.sandbox.group_network import GroupNetwork
from wa_gateway.backends.sandbox.groups import SandboxGroups
from wa_gateway.backends.sandbox.ids import pairing_code, qr_payload
from wa_gateway.backends.sandbox.messaging import SandboxMessaging
from wa_gateway.backends.sandbox.network import SandboxNetwork
from wa_gateway.backends.sandbox.peers import SandboxPeers
from wa_gateway.backends.sandbox.presence import SandboxPresence
from wa_gateway.backends.sandbox.status import SandboxStatus
from wa_gateway.backends.sandbox.store import SandboxStore, SqliteSandboxStore
from wa_gateway.clock import Clock, SystemClock
from wa_gateway.engine import contract as c
from wa_gateway.engine.worker_stats import WorkerStats
from wa_gateway.worker.handlers import Handler, HandlerTable, handles
from wa_gateway.worker.liveness import DEFAULT_WATCHDOG_S
from wa_gateway.worker.message_cache import DEFAULT_MAX_MESSAGES, CachedMessage, MessageCaches

DEFAULT_QR_REFRESH_MS: Final = 20_000
DEFAULT_QR_CODES: Final = 6
DEFAULT_RECONNECT_MS: Final = 1_000
DEFAULT_PUSH_NAME: Final = "Sandbox User"
# Media a simulated peer sends is held in memory until it is evicted, so the sandbox budget is roomier.
MESSAGE_CACHE_BYTES: Final = 64 * 1024 * 1024


log = logging.getLogger("wa_gateway.engine.sandbox")

_ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


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
        message_cache_size: int = DEFAULT_MAX_MESSAGES,
        watchdog_s: float = DEFAULT_WATCHDOG_S,
        store: SandboxStore | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.store: SandboxStore = store or SqliteSandboxStore(data_dir)
        self.clock = clock
        self.caches = MessageCaches(message_cache_size, MESSAGE_CACHE_BYTES)
        self._qr_refresh = qr_refresh_ms / 1000
        self._qr_codes = qr_codes
        self._devices: dict[str, SandboxDevice] = {}
        self._lifecycle: dict[str, asyncio.Lock] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._closed = False
        self._emit: c.EmitFn = _drop_event
        self._messaging = SandboxMessaging(self)
        self._presence = SandboxPresence(self)
        self._status = SandboxStatus(self, self._messaging)
        self.network = SandboxNetwork(self, reconnect_s=reconnect_ms / 1000, watchdog_s=watchdog_s)
        group_network = GroupNetwork(self)
        groups = SandboxGroups(group_network)
        channels = self._channels = SandboxChannels(self)
        self._handlers = HandlerTable.collect(
            self, self._messaging, self._presence, self._status, groups, channels
        )
        peers = SandboxPeers(self).operations()
        self._control_ops: dict[str, _ControlOp] = {
            "link": self._op_link,
            "logout": self._op_logout,
            "sent": self._op_sent,
            **peers,
            **self._presence.operations(),
            **self._status.operations(),
            **self.network.operations(),
            **GroupControl(group_network, peers["message"]).operations(),
            **channels.operations(),
        }

    def emit(self, token: str, event: str, data: dict[str, Any]) -> None:
        self._emit(token, event, data)

    # --- contract -------------------------------------------------------------------------------

    def handler(self, cmd: str) -> Handler:
        return self._handlers.get(cmd)

    async def start(self, emit: c.EmitFn) -> None:
        self._emit = emit
        await self.store.open()
        log.warning(
            "engine: sandbox, a simulated WhatsApp network; nothing is sent to WhatsApp (data in %s)",
            self.store.data_dir,
        )

    @handles(c.CMD_CONNECT)
    async def connect(
        self, token: str, method: c.ConnectMethod, device_name: str | None, jid: str | None = None
    ) -> dict[str, Any]:
        # ``jid`` is for whatsmeow's shared store; the sandbox keys its sessions by token.
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                if device.status == "connected":
                    raise c.EngineError(c.E_ALREADY_CONNECTED, f"device {token} is already connected")
                if device.status == "reconnecting":
                    self.set_connected(device)  # asked to connect while the network is down: try now
                    return {"paired": True}
                if method == "restore":
                    return {"paired": False}
                self._forget(device)  # a new pairing attempt replaces the running one
            record = await self.store.load_session(token)
            if record is not None and record.paired:
                device = self._add(SandboxDevice(token, "pairing", record.jid, record.push_name))
                self.set_connected(device)
                return {"paired": True}
            if method == "restore":
                return {"paired": False}
            if record is None:
                await self.store.create_session(token)
            device = self._add(SandboxDevice(token, "pairing"))
            if method == "qr":
                self._emit(token, c.EV_QR, {"code": qr_payload()})
                device.timer = self.timer(self._qr_flow(device))
            else:
                self._emit(token, c.EV_PAIRING_CODE, {"code": pairing_code()})
                device.timer = self.timer(self._expire_pairing(device, self._qr_refresh * self._qr_codes))
            return {"paired": False}

    @handles(c.CMD_DISCONNECT)
    async def disconnect(self, token: str) -> None:
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                self._forget(device)

    @handles(c.CMD_LOGOUT)
    async def logout(self, token: str) -> None:
        check_token(token)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is not None:
                self._forget(device)
            await self.store.delete_session(token)
            self.caches.drop(token)
            await asyncio.to_thread(media_server.forget, self.data_dir, token)

    @handles(c.CMD_CHECK_NUMBERS)
    async def check_numbers(self, token: str, phones: list[str]) -> list[c.NumberCheck]:
        self.connected(token)
        for phone in phones:
            check_phone(phone, "phones")
        registered = await self.store.registered_numbers(phones)
        return [
            {"phone": phone, "isOnWhatsApp": registered[phone], "jid": phone + USER_SERVER}
            for phone in phones
        ]

    @handles(c.CMD_MARK_READ)
    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None:
        self.connected(token)
        await self.store.add_read(token, ids)

    @handles(c.CMD_LIST_SESSIONS)
    async def list_sessions(self) -> list[dict[str, Any]]:
        return await self.store.list_sessions()

    @handles(c.CMD_STATUS)
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

    def diagnostics(self) -> WorkerStats:
        return self.network.diagnostics(self._devices.values())

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
        await self.store.close()

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
            await self.store.save_pairing(token, jid, push_name, self.clock.time())
            device.jid, device.push_name = jid, push_name
            self.set_connected(device)
        return {"jid": jid, "pushName": push_name}

    async def _op_logout(self, args: dict[str, Any]) -> None:
        token = arg_token(args)
        async with self._lock(token):
            device = self._devices.get(token)
            if device is None:
                await self._require_known(token)
            else:
                self._forget(device)
            await self.store.delete_session(token)
            self.caches.drop(token)
            await asyncio.to_thread(media_server.forget, self.data_dir, token)
        self._emit(token, c.EV_LOGGED_OUT, {"reason": "device unlinked from the phone (sandbox)"})

    async def _op_sent(self, args: dict[str, Any]) -> dict[str, Any]:
        token = arg_token(args)
        await self._require_known(token)
        return await self.store.sent_log(token)

    # --- device life cycle ----------------------------------------------------------------------

    def _lock(self, token: str) -> asyncio.Lock:
        return self._lifecycle.setdefault(token, asyncio.Lock())

    def _add(self, device: SandboxDevice) -> SandboxDevice:
        self._devices[device.token] = device
        return device

    def _forget(self, device: SandboxDevice) -> None:
        """Stop the simulated client; its timers are cancelled so no stale event follows."""
        if self._devices.get(device.token) is device:
            del self._devices[device.token]
        self._cancel_timer(device)
        self._presence.forget(device.token)
        device.status = "stopped"

    def _cancel_timer(self, device: SandboxDevice) -> None:
        if device.timer is not None and device.timer is not asyncio.current_task():
            device.timer.cancel()
        device.timer = None

    def set_connected(self, device: SandboxDevice) -> None:
        self._cancel_timer(device)
        device.status = "connected"
        device.stall = device.last_error = device.next_attempt_at = None
        self._emit(device.token, c.EV_CONNECTED, {"jid": device.jid, "pushName": device.push_name})

    def is_current(self, device: SandboxDevice) -> bool:
        return self._devices.get(device.token) is device

    def lost_connection(self, device: SandboxDevice) -> None:
        self._presence.forget(device.token)

    def timer(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        return task

    async def _qr_flow(self, device: SandboxDevice) -> None:
        for _ in range(self._qr_codes - 1):
            await self.clock.sleep(self._qr_refresh)
            self._emit(device.token, c.EV_QR, {"code": qr_payload()})
        await self._expire_pairing(device, self._qr_refresh)

    async def _expire_pairing(self, device: SandboxDevice, after: float) -> None:
        await self.clock.sleep(after)
        if self._devices.get(device.token) is device and device.status == "pairing":
            self._forget(device)
            self._emit(device.token, c.EV_QR_TIMEOUT, {})

    def connected(self, token: str) -> SandboxDevice:
        device = self._devices.get(token)
        if device is None or device.status != "connected":
            raise c.EngineError(c.E_DEVICE_NOT_CONNECTED, f"device {token} is not connected")
        self.network.refuse_if_stalled(device)
        return device

    async def require_channel_admin(self, token: str, channel: str) -> None:
        await self._channels.require_admin(token, channel)

    async def publish_channel_post(self, token: str, message: CachedMessage) -> None:
        await self._channels.publish(token, message)

    def require_still_connected(self, device: SandboxDevice) -> None:
        if self._devices.get(device.token) is not device or device.status != "connected":
            raise c.EngineError(c.E_DEVICE_NOT_CONNECTED, f"device {device.token} is not connected")
        self.network.refuse_if_stalled(device)

    async def _require_known(self, token: str) -> None:
        if token not in self._devices and not await self.store.session_exists(token):
            raise c.EngineError(c.E_DEVICE_NOT_FOUND, f"device {token} not found")

    async def connected_for_control(self, args: dict[str, Any]) -> SandboxDevice:
        """The device, connected; a stalled one too: the control routes play the world, not the device."""
        token = arg_token(args)
        await self._require_known(token)
        device = self._devices.get(token)
        if device is None or device.status != "connected":
            raise c.EngineError(c.E_DEVICE_NOT_CONNECTED, f"device {token} is not connected")
        return device


async def create_backend(config: dict[str, Any]) -> SandboxBackend:
    data_dir = config.get("data_dir")
    if not isinstance(data_dir, str) or not data_dir:
        raise ValueError("sandbox engine needs data_dir")
    database_url = config.get("database_url")
    store: SandboxStore | None = None
    if isinstance(database_url, str) and database_url:
        # Imported here: asyncpg is loaded only by a worker that uses it (docs/storage.md).
        from wa_gateway.backends.sandbox.postgres_store import PostgresSandboxStore

        store = PostgresSandboxStore(database_url, Path(data_dir))
    return SandboxBackend(
        Path(data_dir),
        clock=SystemClock(),
        qr_refresh_ms=positive_int(config, "sandbox_qr_refresh_ms", DEFAULT_QR_REFRESH_MS),
        qr_codes=positive_int(config, "sandbox_qr_codes", DEFAULT_QR_CODES),
        reconnect_ms=positive_int(config, "sandbox_reconnect_ms", DEFAULT_RECONNECT_MS),
        message_cache_size=positive_int(config, "message_cache_size", DEFAULT_MAX_MESSAGES),
        watchdog_s=non_negative(config, "watchdog_s", DEFAULT_WATCHDOG_S),
        store=store,
    )


def _drop_event(token: str, event: str, data: dict[str, Any]) -> None:
    log.debug("sandbox event %s for %s dropped: backend not started", event, token)


def _implements_the_contract(backend: SandboxBackend) -> c.EngineBackend:
    """Never called: mypy checks here that the backend has every method of the contract."""
    return backend
