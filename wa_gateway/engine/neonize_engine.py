"""The neonize backend: real WhatsApp through whatsmeow, one neonize client per device."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.utils.enum import (  # type: ignore[import-untyped]
    ChatPresence,
    ChatPresenceMedia,
    ReceiptType,
)

from wa_gateway.clock import Clock, SystemClock
from wa_gateway.engine import neonize_events as translate
from wa_gateway.engine import neonize_store as store
from wa_gateway.engine.contract import (
    E_ALREADY_CONNECTED,
    E_DEVICE_NOT_CONNECTED,
    E_DEVICE_NOT_FOUND,
    E_ENGINE_FAILURE,
    E_INVALID_ARGUMENT,
    E_UNKNOWN_COMMAND,
    ConnectMethod,
    EmitFn,
    EngineError,
    NumberCheck,
)
from wa_gateway.engine.neonize_device import STATUS_CONNECTED, EngineContext, mask
from wa_gateway.engine.neonize_ffi import GoFfi, GoMapLock
from wa_gateway.engine.neonize_runtime import DeviceName, NeonizeSettings, parse_device_name
from wa_gateway.engine.neonize_session import DeviceSession

log = logging.getLogger(__name__)

CONNECT_METHODS: Final = ("qr", "code", "restore")
MAX_TYPING_MS: Final = 600_000
# A Neonize() call still pending at close is cancelled; neonize's cancel handler then calls Go Stop()
# itself, so it happens while we hold the exclusive lock.
CANCEL_GRACE_S: Final = 1.0


def _token(token: str) -> str:
    if not isinstance(token, str) or not store.TOKEN_RE.fullmatch(token):
        raise EngineError(E_INVALID_ARGUMENT, "token must be 7 to 15 digits")
    return token


def _jid(text: str, field: str) -> Any:
    try:
        return translate.parse_jid(text)
    except (ValueError, AttributeError) as exc:
        raise EngineError(E_INVALID_ARGUMENT, f"{field} is not a valid JID") from exc


class NeonizeBackend:
    """``gocode`` is neonize's loaded library (``neonize._binder.gocode``), or a fake in tests."""

    name = "neonize"

    def __init__(self, settings: NeonizeSettings, *, gocode: Any, clock: Clock | None = None) -> None:
        self._settings = settings
        lock = GoMapLock()
        self._ctx = EngineContext(settings, lock, GoFfi(gocode, lock), clock or SystemClock())
        self._sessions: dict[str, DeviceSession] = {}
        self._closed = False

    @property
    def context(self) -> EngineContext:
        return self._ctx

    def session(self, token: str) -> DeviceSession | None:
        """The device the engine runs for ``token``, if any (diagnostics and tests)."""
        return self._sessions.get(token)

    async def start(self, emit: EmitFn) -> None:
        self._ctx.emit = emit
        await asyncio.to_thread(self._settings.sessions_dir.mkdir, parents=True, exist_ok=True)
        log.info("engine: neonize (WhatsApp), sessions in %s", self._settings.sessions_dir)

    def _session(self, token: str) -> DeviceSession:
        session = self._sessions.get(_token(token))
        if session is None:
            raise EngineError(E_DEVICE_NOT_FOUND, "Device not found")
        return session

    def _device_name(self, text: str) -> DeviceName:
        try:
            return parse_device_name(text or self._settings.device_name)
        except ValueError as exc:
            raise EngineError(E_INVALID_ARGUMENT, str(exc)) from exc

    async def connect(self, token: str, method: ConnectMethod, device_name: str) -> dict[str, Any]:
        _token(token)
        if method not in CONNECT_METHODS:
            raise EngineError(E_INVALID_ARGUMENT, "method must be qr, code or restore")
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
            paired = await asyncio.to_thread(store.is_paired, session.path)
            # Restoring never starts a QR flow for a session that was never paired (§19 item 15).
            idle = method == "restore" and not session.running and not paired
            if not idle and not (method == "restore" and session.running):
                await session.stop()  # a previous attempt: a stale pairing, a pending reconnect
                await session.start(method, device, paired)
        if idle and created and self._sessions.get(token) is session:
            del self._sessions[token]
            await session.close()
        return {"paired": paired}

    async def disconnect(self, token: str) -> None:
        session = self._sessions.pop(_token(token), None)
        if session is not None:
            await session.close()

    async def logout(self, token: str) -> None:
        session = self._sessions.pop(_token(token), None)
        if session is None:
            await asyncio.to_thread(
                store.remove_session, store.session_path(self._settings.sessions_dir, token)
            )
            return
        async with session.lifecycle:
            await session.logout()
        await session.close()

    async def send_text(self, token: str, to: str, text: str, typing_ms: int) -> dict[str, Any]:
        session = self._session(token)
        recipient = _jid(to, "to")
        if not isinstance(text, str) or not text:
            raise EngineError(E_INVALID_ARGUMENT, "text must be a non-empty string")
        if (
            isinstance(typing_ms, bool)
            or not isinstance(typing_ms, int)
            or not 0 <= typing_ms <= MAX_TYPING_MS
        ):
            raise EngineError(E_INVALID_ARGUMENT, f"typing_ms must be from 0 to {MAX_TYPING_MS}")
        session.connected_client()
        # Sends of one device go out in request order: asyncio.Lock wakes its waiters FIFO.
        async with session.send_lock:
            await self._chat_presence(session, recipient, ChatPresence.CHAT_PRESENCE_COMPOSING)
            if typing_ms:
                await self._ctx.clock.sleep(typing_ms / 1000)
            await self._chat_presence(session, recipient, ChatPresence.CHAT_PRESENCE_PAUSED)
            client = session.connected_client()
            try:
                # A str is built into a message by neonize itself (mentions included).
                response = await client.send_message(recipient, text)
            except NeonizeError as exc:
                raise self._failure(session, "Sending the message", exc) from exc
        timestamp = translate.seconds(response.Timestamp) if response.Timestamp else self._ctx.clock.time()
        return {"id": str(response.ID), "timestamp": timestamp}

    async def _chat_presence(self, session: DeviceSession, recipient: Any, state: Any) -> None:
        try:
            client = session.connected_client()
            await client.send_chat_presence(recipient, state, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        except (NeonizeError, EngineError) as exc:
            log.info("typing indicator for %s not sent: %s", mask(session.token), exc)

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
            # One usync query for the whole batch (neonize-study §4).
            answers = await client.is_on_whatsapp(*(f"+{phone}" for phone in dict.fromkeys(phones)))
        except NeonizeError as exc:
            raise self._failure(session, "Checking the numbers", exc) from exc
        found: dict[str, tuple[bool, str]] = {}
        for answer in answers:
            phone = "".join(ch for ch in str(answer.Query) if ch.isdigit())
            registered = bool(answer.IsIn)
            jid = translate.jid_string(answer.JID) if registered else ""
            if registered and answer.JID.Server != translate.PN_SERVER:
                # Recent whatsmeow answers with the LID; the number asked is the phone (neonize-study §4).
                jid = f"{phone}@{translate.PN_SERVER}"
            found[phone] = (registered, jid)
        results = []
        for phone in phones:
            registered, jid = found.get(phone, (False, ""))
            results.append(NumberCheck(phone=phone, isOnWhatsApp=registered, jid=jid))
        return results

    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None:
        session = self._session(token)
        chat_jid = _jid(chat, "chat")
        # whatsmeow uses the sender only in groups; a 1:1 chat stands for itself.
        sender_jid = _jid(sender, "sender") if sender else chat_jid
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise EngineError(E_INVALID_ARGUMENT, "ids must be a non-empty list of strings")
        client = session.connected_client()
        try:
            await client.mark_read(*ids, chat=chat_jid, sender=sender_jid, receipt=ReceiptType.READ)
        except NeonizeError as exc:
            raise self._failure(session, "Marking messages read", exc) from exc

    @staticmethod
    def _failure(session: DeviceSession, action: str, exc: Exception) -> EngineError:
        if session.status != STATUS_CONNECTED:
            return EngineError(E_DEVICE_NOT_CONNECTED, "Device not connected")
        return EngineError(E_ENGINE_FAILURE, f"{action} failed: {exc}")

    async def list_sessions(self) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(store.list_sessions, self._settings.sessions_dir)
        return [{"token": token, "paired": paired} for token, paired in found]

    async def status(self) -> list[dict[str, Any]]:
        return [
            {"token": s.token, "status": s.status, "jid": s.jid, "pushName": s.push_name}
            for s in sorted(self._sessions.values(), key=lambda s: s.token)
        ]

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
