"""The neonize backend: real WhatsApp through whatsmeow, one neonize client per device."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]
from neonize.utils.enum import ReceiptType  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize import store
from wa_gateway.backends.neonize.channels import NeonizeChannels
from wa_gateway.backends.neonize.context import EngineContext
from wa_gateway.backends.neonize.device import STATUS_CONNECTED
from wa_gateway.backends.neonize.ffi import GoFfi, GoMapLock
from wa_gateway.backends.neonize.groups import NeonizeGroups
from wa_gateway.backends.neonize.outbound import GROUP_SERVER, NeonizeMessaging, jid
from wa_gateway.backends.neonize.runtime import DeviceName, NeonizeSettings, parse_device_name
from wa_gateway.backends.neonize.send_errors import failure
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.backends.neonize.status import NeonizeStatus
from wa_gateway.clock import Clock, SystemClock
from wa_gateway.db import whatsmeow
from wa_gateway.engine import contract as c
from wa_gateway.engine.contract import (
    E_ALREADY_CONNECTED,
    E_DEVICE_NOT_FOUND,
    E_ENGINE_FAILURE,
    E_INVALID_ARGUMENT,
    E_UNKNOWN_COMMAND,
    ConnectMethod,
    EmitFn,
    EngineBackend,
    EngineError,
    NumberCheck,
)
from wa_gateway.engine.worker_stats import WorkerStats
from wa_gateway.worker.handlers import Handler, HandlerTable, handles

log = logging.getLogger(__name__)

CONNECT_METHODS: Final = ("qr", "code", "restore")
NOTHING_RETURNED: Final = "Function returned nothing."
# A Neonize() call still pending at close is cancelled; neonize's cancel handler then calls Go Stop()
# itself, so it happens while we hold the exclusive lock.
CANCEL_GRACE_S: Final = 1.0


def _token(token: str) -> str:
    if not isinstance(token, str) or not store.TOKEN_RE.fullmatch(token):
        raise EngineError(E_INVALID_ARGUMENT, "token must be 7 to 15 digits")
    return token


class NeonizeBackend:
    """``gocode`` is neonize's loaded library (``neonize._binder.gocode``), or a fake in tests."""

    name = "neonize"

    def __init__(self, settings: NeonizeSettings, *, gocode: Any, clock: Clock | None = None) -> None:
        self._settings = settings
        lock = GoMapLock()
        self._ctx = EngineContext(settings, lock, GoFfi(gocode, lock), clock or SystemClock())
        self._sessions: dict[str, DeviceSession] = {}
        self._messaging = NeonizeMessaging(self._ctx, self._session)
        self._handlers = HandlerTable.collect(
            self,
            self._messaging,
            NeonizeStatus(self._messaging),
            NeonizeGroups(self._session, settings.data_dir),
            NeonizeChannels(self._session),
        )
        self._closed = False

    @property
    def context(self) -> EngineContext:
        return self._ctx

    def session(self, token: str) -> DeviceSession | None:
        """The device the engine runs for ``token``, if any (diagnostics and tests)."""
        return self._sessions.get(token)

    def handler(self, cmd: str) -> Handler:
        return self._handlers.get(cmd)

    def set_journal_barrier(self, barrier: Callable[[], Awaitable[None]]) -> None:
        """Received events hold Go's callback until this returns (docs/durability.md, neonize)."""
        self._ctx.journal_barrier = barrier

    async def start(self, emit: EmitFn) -> None:
        self._ctx.emit = emit
        await asyncio.to_thread(self._settings.sessions_dir.mkdir, parents=True, exist_ok=True)
        if self._ctx.shared is not None:
            await self._ctx.shared.open()
        log.info("engine: neonize (WhatsApp), sessions in %s", self._settings.sessions_dir)

    def _session(self, token: str) -> DeviceSession:
        session = self._sessions.get(_token(token))
        if session is None:
            raise EngineError(E_DEVICE_NOT_FOUND, "Device not found")
        return session

    def _device_name(self, text: str | None) -> DeviceName:
        try:
            return parse_device_name(text or self._settings.device_name)
        except ValueError as exc:
            raise EngineError(E_INVALID_ARGUMENT, str(exc)) from exc

    @handles(c.CMD_CONNECT)
    async def connect(
        self, token: str, method: ConnectMethod, device_name: str | None, jid: str | None = None
    ) -> dict[str, Any]:
        _token(token)
        if method not in CONNECT_METHODS:
            raise EngineError(E_INVALID_ARGUMENT, "method must be qr, code or restore")
        if jid is not None and (whatsmeow.parse_device_jid(jid) or ("",))[0] != token:
            raise EngineError(E_INVALID_ARGUMENT, "jid must be a device JID of the token's account")
        if self._closed:
            raise EngineError(E_ENGINE_FAILURE, "The engine is shutting down")
        device = self._device_name(device_name)
        session = self._sessions.get(token)
        created = session is None
        if session is None:
            session = self._sessions[token] = DeviceSession(token, self._ctx)
        async with session.lifecycle:
            if session.status == STATUS_CONNECTED:
                raise EngineError(E_ALREADY_CONNECTED, "Device already connected")
            await asyncio.to_thread(self._settings.sessions_dir.mkdir, parents=True, exist_ok=True)
            paired = await self._is_paired(session, jid)
            # Restoring never starts a QR flow for a session that was never paired (§19 item 15).
            idle = method == "restore" and not session.running and not paired
            if not idle and not (method == "restore" and session.running):
                await session.stop()  # a previous attempt: a stale pairing, a pending reconnect
                await session.start(method, device, paired)
        if idle and created and self._sessions.get(token) is session:
            del self._sessions[token]
            await session.close()
        return {"paired": paired}

    async def _is_paired(self, session: DeviceSession, jid: str | None) -> bool:
        shared = self._ctx.shared
        if shared is None:
            return await asyncio.to_thread(store.is_paired, session.path)
        # One database for every device: the gateway names the stored JID (docs/cluster.md).
        if jid is None or not await shared.has_device(jid):
            return False
        session.jid = jid
        return True

    @handles(c.CMD_DISCONNECT)
    async def disconnect(self, token: str) -> None:
        session = self._sessions.pop(_token(token), None)
        if session is not None:
            await session.close()

    @handles(c.CMD_LOGOUT)
    async def logout(self, token: str) -> None:
        session = self._sessions.pop(_token(token), None)
        if session is None:
            await asyncio.to_thread(
                store.remove_session, store.session_path(self._settings.sessions_dir, token)
            )
            self._ctx.caches.drop(token)
            return
        async with session.lifecycle:
            await session.logout()
        await session.close()

    @handles(c.CMD_CHECK_NUMBERS)
    async def check_numbers(self, token: str, phones: list[str]) -> list[NumberCheck]:
        session = self._session(token)
        if not isinstance(phones, list) or not all(
            isinstance(phone, str) and translate.PHONE_RE.fullmatch(phone) for phone in phones
        ):
            raise EngineError(E_INVALID_ARGUMENT, "phones must be a list of digit strings")
        if not phones:
            return []
        client = session.connected_client()
        try:
            # One usync query for the whole batch (docs/neonize.md §4).
            answers = await client.is_on_whatsapp(*(f"+{phone}" for phone in dict.fromkeys(phones)))
        except NeonizeError as exc:
            # WhatsApp answers nothing for numbers it does not know at all; neonize turns the empty
            # answer into this error (docs/engine.md, "Number checks").
            if str(exc) != NOTHING_RETURNED:
                raise failure(session, "Checking the numbers", exc) from exc
            answers = []
        found: dict[str, tuple[bool, str]] = {}
        for answer in answers:
            phone = "".join(ch for ch in str(answer.Query) if ch.isdigit())
            registered = bool(answer.IsIn)
            jid = translate.jid_string(answer.JID) if registered else ""
            if registered and answer.JID.Server != translate.PN_SERVER:
                # Recent whatsmeow answers with the LID; the number asked is the phone (docs/neonize.md §4).
                jid = f"{phone}@{translate.PN_SERVER}"
            found[phone] = (registered, jid)
        results = []
        for phone in phones:
            registered, jid = found.get(phone, (False, ""))
            results.append(NumberCheck(phone=phone, isOnWhatsApp=registered, jid=jid))
        return results

    @handles(c.CMD_MARK_READ)
    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None:
        session = self._session(token)
        chat_jid = jid(chat, "chat")
        given_sender = jid(sender, "sender") if sender else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise EngineError(E_INVALID_ARGUMENT, "ids must be a non-empty list of strings")
        client = session.connected_client()
        # WhatsApp matches a receipt to the message by chat and author exactly as it addressed them
        # (a group may name its members by LID while the API reports phones), so held messages are
        # answered from their own source; a group receipt never names the group as its author.
        batches: dict[tuple[bytes, bytes], tuple[Any, Any, list[str]]] = {}
        cache = self._ctx.caches.of(token)
        for message_id in ids:
            cached = cache.get(message_id)
            if cached is not None and cached.in_chat(chat):
                source = proto.Message.FromString(cached.payload).Info.MessageSource
                target = (source.Chat, source.Sender)
            elif chat_jid.Server == GROUP_SERVER and given_sender is None:
                raise EngineError(E_INVALID_ARGUMENT, "sender is required to mark group messages read")
            else:
                # whatsmeow uses the sender only in groups; a 1:1 chat stands for itself.
                target = (chat_jid, given_sender or chat_jid)
            key = (target[0].SerializeToString(), target[1].SerializeToString())
            batches.setdefault(key, (*target, []))[2].append(message_id)
        try:
            for target_chat, target_sender, batch in batches.values():
                await client.mark_read(
                    *batch, chat=target_chat, sender=target_sender, receipt=ReceiptType.READ
                )
        except NeonizeError as exc:
            raise failure(session, "Marking messages read", exc) from exc

    @handles(c.CMD_LIST_SESSIONS)
    async def list_sessions(self) -> list[dict[str, Any]]:
        if self._ctx.shared is not None:
            return []  # the cluster's device registry knows them (docs/cluster.md "neonize sessions")
        found = await asyncio.to_thread(store.list_sessions, self._settings.sessions_dir)
        return [{"token": token, "paired": paired} for token, paired in found]

    @handles(c.CMD_SUBSCRIBE_PRESENCE)
    async def subscribe_presence(self, token: str, to: str) -> None:
        session = self._session(token)
        contact = jid(to, "to")
        if contact.Server == GROUP_SERVER:
            raise EngineError(E_INVALID_ARGUMENT, "to must be a contact, not a group")
        client = session.connected_client()
        try:
            await client.subscribe_presence(contact)
        except NeonizeError as exc:
            raise failure(session, "Subscribing to the presence", exc) from exc

    @handles(c.CMD_STATUS)
    async def status(self) -> list[dict[str, Any]]:
        return [
            {"token": s.token, "status": s.status, "jid": s.jid, "pushName": s.push_name}
            for s in sorted(self._sessions.values(), key=lambda s: s.token)
        ]

    def diagnostics(self) -> WorkerStats:
        """Reported with every heartbeat (docs/health.md, "Engine figures")."""
        devices = {token: info for token, s in self._sessions.items() if (info := s.reconnect_info())}
        return {
            "devices": devices,
            "firstSync": {
                token: progress
                for token, s in self._sessions.items()
                if (progress := s.first_sync_progress()) is not None
            },
            "stuckThreads": sum(1 for task in self._ctx.stuck_tasks if not task.done()),
            "lostEventSessions": self._ctx.lost_event_sessions,
            "watchdogReconnects": self._ctx.watchdog_reconnects,
        }

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        raise EngineError(E_UNKNOWN_COMMAND, f"the neonize engine has no operation {op!r}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
        tasks = [client.connect_task for client in self._ctx.live_clients if client.connect_task is not None]
        stuck = [task for task in tasks if not task.done()]
        if stuck:
            async with self._ctx.lock.exclusive():
                for task in stuck:
                    task.cancel()
                await asyncio.wait(stuck, timeout=CANCEL_GRACE_S)
        leaked = self._ctx.ffi.session_threads()
        if leaked:
            log.warning("%d engine thread(s) still inside Go at close (daemon threads)", len(leaked))
        await self._ctx.ffi.close()
        if self._ctx.shared is not None:
            await self._ctx.shared.close()


def _implements_the_contract(backend: NeonizeBackend) -> EngineBackend:
    """Never called: mypy checks here that the backend has every method of the contract."""
    return backend
