"""What each item of a device's inbox means: pairing, connection events, and what people send.

The mechanics (client start/stop, the ordered consumer, retries) are in ``neonize_device``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (  # type: ignore[import-untyped]
    HistorySync,
)
from neonize.utils.enum import Presence  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import cached, group_events
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize import presence as neonize_presence
from wa_gateway.backends.neonize.context import EngineContext, describe_error, mask
from wa_gateway.backends.neonize.device import (
    STATUS_BANNED,
    STATUS_CONNECTED,
    STATUS_CONNECTING,
    STATUS_DISCONNECTED,
    STATUS_LOGGED_OUT,
    STATUS_PAIRING,
    DeviceLifecycle,
)
from wa_gateway.backends.neonize.history import history_messages
from wa_gateway.backends.neonize.inbound import InboundMessages
from wa_gateway.backends.neonize.runtime import DeviceName
from wa_gateway.backends.neonize.shared_store import remove_stored_session
from wa_gateway.backends.neonize.store import load_lids, save_lids
from wa_gateway.engine.contract import (
    EV_BANNED,
    EV_CALL_OFFER,
    EV_CONNECTED,
    EV_DISCONNECTED,
    EV_GROUP_JOINED,
    EV_HISTORY_SYNC,
    EV_LOGGED_OUT,
    EV_PAIRING_CODE,
    EV_PRESENCE,
    EV_QR,
    EV_QR_TIMEOUT,
    EV_RECEIPT,
    ConnectMethod,
)
from wa_gateway.worker.message_cache import CachedMessage

log = logging.getLogger(__name__)

# A phone of another account linked this device: wait this long for its connection before unlinking.
REJECT_GRACE_S: Final = 30.0
LID_MAP_LIMIT: Final = 50_000
# History-sync messages per event: a few hundred bytes each, so one slice stays well under 16 MiB.
HISTORY_SLICE: Final = 2000
# Callers of recent calls as WhatsApp addressed them: rejecting needs that exact JID (docs/neonize.md §5).
RECENT_CALLS: Final = 64
# How long after pairing a first history sync that never reports 100 % still counts as running.
FIRST_SYNC_LIMIT_S: Final = 900.0
# The chunks of the first sync after pairing (WAWebProtobufsHistorySync HistorySyncType); the others
# (push names, on-demand, status) come at any time and carry no progress of it.
FIRST_SYNC_TYPES: Final = frozenset(
    {
        HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        HistorySync.HistorySyncType.RECENT,
        HistorySync.HistorySyncType.FULL,
    }
)
# Events whatsmeow raises itself, which say nothing about whether WhatsApp still answers.
_NOT_TRAFFIC: Final = frozenset({nc.KEEPALIVE_TIMEOUT, nc.DISCONNECTED})
LOGIN_FAILURES: Final = {
    "err-client-outdated": "Pairing failed: WhatsApp says this client version is outdated",
    "err-scanned-without-multidevice": "Pairing failed: the QR was scanned by a phone without multi-device",
    "err-unexpected-state": "Pairing failed: unexpected state",
}


class DeviceSession(DeviceLifecycle):
    def __init__(self, token: str, ctx: EngineContext) -> None:
        self.keepalive_ok = True
        self._pairing_code_requested = False
        self._qr_expired = False
        self._rejected_account: str | None = None
        self._lid_to_pn: dict[str, str] = {}
        # (progress %, until when it may still run) from a pairing to the end of its first history sync.
        self._first_sync: tuple[int, float] | None = None
        self.callers: OrderedDict[str, Any] = OrderedDict()
        self._inbound = InboundMessages(self._emit, lambda: ctx.caches.of(token), self._lid_to_pn)
        self._handlers: dict[int, Callable[[Any], Awaitable[None]]] = {
            nc.DEVICE: self._on_device,
            nc.PAIR_STATUS: self._on_pair_status,
            nc.CONNECTED: self._on_connected,
            nc.KEEPALIVE_TIMEOUT: self._on_keepalive_timeout,
            nc.KEEPALIVE_RESTORED: self._on_keepalive_restored,
            nc.LOGGED_OUT: self._on_logged_out,
            nc.STREAM_REPLACED: self._on_stream_replaced,
            nc.TEMPORARY_BAN: self._on_temporary_ban,
            nc.CONNECT_FAILURE: self._on_connect_failure,
            nc.CLIENT_OUTDATED: self._on_client_outdated,
            nc.STREAM_ERROR: self._on_stream_error,
            nc.DISCONNECTED: self._on_disconnected,
            nc.HISTORY_SYNC: self._on_history_sync,
            nc.MESSAGE: self._on_message,
            nc.RECEIPT: self._on_receipt,
            nc.CALL_OFFER: self._on_call_offer,
            nc.CALL_OFFER_NOTICE: self._on_call_offer,
            nc.PRESENCE: self._on_presence,
            nc.CHAT_PRESENCE: self._on_chat_presence,
            nc.JOINED_GROUP: self._on_joined_group,
            nc.GROUP_INFO: self._on_group_info,
        }
        super().__init__(token, ctx)

    async def start(self, method: ConnectMethod, device: DeviceName, paired: bool) -> None:
        # Receipts and calls after a restart still report phones (docs/engine.md, "LIDs").
        if not self._lid_to_pn:
            self._lid_to_pn.update(await asyncio.to_thread(load_lids, self.path))
        await super().start(method, device, paired)

    def _reset_attempt(self) -> None:
        self._pairing_code_requested = self._qr_expired = False
        self._rejected_account = None

    async def _handle(self, item: nc.InboxItem) -> None:
        if isinstance(item, nc.GoEvent):
            if item.code not in _NOT_TRAFFIC:
                self.liveness.traffic()
            handler = self._handlers.get(item.code)
            if handler is not None:
                await handler(item.event)
        elif isinstance(item, nc.QrCode):
            await self._on_qr(item.code)
        elif isinstance(item, nc.LoginStatus):
            await self._on_login_status(item.status)
        elif isinstance(item, nc.Timer):
            if item.kind == "qr_watchdog" and self.status == STATUS_PAIRING:
                await self._expire_qr()
            elif item.kind == "reject" and self._rejected_account is not None:
                await self._reject_account()

    # --- pairing ----------------------------------------------------------------------------------

    async def _on_qr(self, code: str) -> None:
        if self.status != STATUS_PAIRING or self._client is None:
            return
        if self._method != "code":
            self._emit(EV_QR, {"code": code})
            return
        # whatsmeow wants PairPhone after the first QR item, which shows the websocket is up; later
        # codes are not shown for a code pairing (docs/neonize.md §2).
        if self._pairing_code_requested:
            return
        self._pairing_code_requested = True
        try:
            pairing_code = await self._client.request_pairing_code(self.token)
        except NeonizeError as exc:
            await self._fail_pairing(f"Pairing code request failed: {describe_error(exc)}")
            return
        self._emit(EV_PAIRING_CODE, {"code": pairing_code})

    async def _on_login_status(self, status: str) -> None:
        if status == "success":
            if self.status == STATUS_PAIRING:
                self.status = STATUS_CONNECTING
        elif status == "timeout":
            await self._expire_qr()
        else:
            await self._fail_pairing(LOGIN_FAILURES.get(status, f"Pairing failed: {status}"))

    async def _expire_qr(self) -> None:
        if self._qr_expired:
            return
        self._qr_expired = True
        await self._stop_client()
        self.status = STATUS_DISCONNECTED
        await self._forget_unpaired()
        self._emit(EV_QR_TIMEOUT, {})

    async def _fail_pairing(self, reason: str) -> None:
        await self._stop_client()
        self.status = STATUS_DISCONNECTED
        await self._forget_unpaired()
        self._fail(reason)

    async def _on_pair_status(self, event: Any) -> None:
        if event.Status != proto.PairStatus.PStatus.SUCCESS:
            await self._fail_pairing(f"Pairing failed: {event.Error or 'rejected by the phone'}")
            return
        self.jid = translate.full_jid_string(event.ID)
        if self.status == STATUS_PAIRING:
            self.status = STATUS_CONNECTING
        self._first_sync = (0, self._ctx.clock.monotonic() + FIRST_SYNC_LIMIT_S)
        if event.ID.User != self.token:
            # Any phone can scan the QR (docs/go-gateway.md §6); unlink once it is online.
            self._rejected_account = str(event.ID.User)
            self._schedule(REJECT_GRACE_S, "reject")
            return
        self._paired = True

    async def _reject_account(self) -> None:
        account = self._rejected_account
        unlinked = False
        if self._client is not None:
            try:
                await self._client.logout()
                unlinked = True
            except NeonizeError as exc:
                log.warning("could not unlink the wrong account from %s: %s", mask(self.token), exc)
        await self._stop_client()
        await remove_stored_session(self.path, self._ctx.shared, self.jid)
        self._ctx.caches.drop(self.token)
        self._paired = False
        self.jid = self.push_name = ""
        self.status = STATUS_DISCONNECTED
        done = (
            "it was unlinked and its session removed"
            if unlinked
            else "its session was removed here; unlink it in WhatsApp > Linked devices on that phone"
        )
        self._fail(f"The phone that linked this device is +{account}, not +{self.token}; {done}")

    # --- connection events ------------------------------------------------------------------------

    async def _on_device(self, event: Any) -> None:
        if event.JID.User:
            self.jid = translate.full_jid_string(event.JID)
        if event.PushName:
            self.push_name = str(event.PushName)

    async def _on_connected(self, _event: Any) -> None:
        client = self._client
        assert client is not None
        me = client.me if client.me is not None and client.me.JID.User else None
        # Asked on every connect: the push name may have changed on the phone since the Device event.
        # Safe here: Go registered this client and only a lifecycle holder may stop it.
        try:
            fresh = await client.get_me()
            if fresh is not None and fresh.JID.User:
                me = fresh
        except NeonizeError as exc:
            log.warning("could not read the account of %s: %s", mask(self.token), exc)
        if me is not None and me.JID.User:
            if me.JID.User != self.token and self._rejected_account is None:
                self._rejected_account = str(me.JID.User)
            await self._on_device(me)
        if self._rejected_account is not None:
            await self._reject_account()
            return
        self._paired = True
        self._attempts = 0
        self._next_attempt_at = self._last_error = None
        self.keepalive_ok = True
        self.liveness.connected()
        self.status = STATUS_CONNECTED
        self._emit(EV_CONNECTED, {"jid": self.jid, "pushName": self.push_name})
        if self._ctx.settings.send_presence_on_connect:
            # Off by default: "available" stops notifications on the phone (docs/go-gateway.md §6).
            try:
                await client.send_presence(Presence.AVAILABLE)
            except NeonizeError as exc:
                log.warning("presence for %s was refused: %s", mask(self.token), exc)

    async def _on_disconnected(self, _event: Any) -> None:
        if self.status == STATUS_CONNECTED:
            self.status = STATUS_CONNECTING  # whatsmeow reconnects by itself
            self._emit(EV_DISCONNECTED, {"reason": "Connection to WhatsApp lost; reconnecting"})

    async def _on_keepalive_timeout(self, event: Any) -> None:
        self.keepalive_ok = False
        log.warning("keepalive of %s timed out (%d errors)", mask(self.token), event.ErrorCount)
        self.liveness.keepalive_failed()
        self.watch()

    async def _on_keepalive_restored(self, _event: Any) -> None:
        self.keepalive_ok = True
        self.liveness.keepalive_restored()
        log.info("keepalive of %s restored", mask(self.token))

    async def _on_logged_out(self, event: Any) -> None:
        # whatsmeow already deleted its device row; the files go too, so a restart cannot resurrect it.
        await self._stop_client()
        await remove_stored_session(self.path, self._ctx.shared, self.jid)
        self._ctx.caches.drop(self.token)
        self._paired = False
        self.jid = self.push_name = ""
        self.status = STATUS_LOGGED_OUT
        self._emit(EV_LOGGED_OUT, {"reason": translate.logged_out_reason(event)})

    async def _on_stream_replaced(self, _event: Any) -> None:
        await self._stop_client()
        self.status = STATUS_DISCONNECTED
        self._fail("Stream replaced: another client opened this session; not reconnecting")

    async def _on_temporary_ban(self, event: Any) -> None:
        data = translate.ban(event, self._ctx.clock.time())
        await self._stop_client()
        self.status = STATUS_BANNED
        self._emit(EV_BANNED, data)

    async def _on_connect_failure(self, event: Any) -> None:
        code = translate.connect_failure_code(event)
        reason = translate.connect_failure_reason(event)
        if code in translate.TRANSIENT_CONNECT_FAILURES:
            self.status = STATUS_CONNECTING
            self._fail(f"{reason}; reconnecting", code=code, retrying=True)
            return
        await self._stop_client()
        self.status = STATUS_DISCONNECTED
        self._fail(reason, code=code)

    async def _on_client_outdated(self, _event: Any) -> None:
        await self._stop_client()
        self.status = STATUS_DISCONNECTED
        self._fail(
            "Connection failed: 405: WhatsApp rejected this client as outdated; update neonize", code=405
        )

    async def _on_stream_error(self, event: Any) -> None:
        log.warning("stream error %s on %s", event.Code, mask(self.token))

    # --- what people do -----------------------------------------------------------------------------

    async def _on_message(self, event: Any) -> None:
        await self._inbound.handle(event, self._client)

    async def _on_receipt(self, event: Any) -> None:
        data = translate.receipt(event, self._lid_to_pn)
        if data is not None:
            self._emit(EV_RECEIPT, data)

    def restore(self, ref: str) -> CachedMessage | None:
        return cached.restore(ref, self._lid_to_pn)

    def first_sync_progress(self) -> int | None:
        """Percent of the first history sync after pairing while it runs; None once it is over."""
        if self._first_sync is None:
            return None
        progress, until = self._first_sync
        if self._ctx.clock.monotonic() >= until:
            self._first_sync = None
            return None
        return progress

    async def _on_history_sync(self, event: Any) -> None:
        if self._first_sync is not None and event.Data.syncType in FIRST_SYNC_TYPES:
            progress = int(event.Data.progress)
            done = progress >= 100  # WhatsApp's progress is a percentage
            self._first_sync = None if done else (max(progress, self._first_sync[0]), self._first_sync[1])
        before = dict(self._lid_to_pn)
        contacts = translate.history_contacts(event.Data, self.token, self._lid_to_pn)
        messages = history_messages(event.Data, self.token, self._lid_to_pn)
        for lid in list(itertools.islice(self._lid_to_pn, max(0, len(self._lid_to_pn) - LID_MAP_LIMIT))):
            del self._lid_to_pn[lid]
        if self._lid_to_pn != before:
            await asyncio.to_thread(save_lids, self.path, dict(self._lid_to_pn))
        if contacts or messages:
            # Slices keep each event far below the IPC frame limit however long the history is.
            self._emit(EV_HISTORY_SYNC, {"contacts": contacts, **_messages(messages[:HISTORY_SLICE])})
        for start in range(HISTORY_SLICE, len(messages), HISTORY_SLICE):
            self._emit(EV_HISTORY_SYNC, {"contacts": [], "messages": messages[start : start + HISTORY_SLICE]})

    async def _on_call_offer(self, event: Any) -> None:
        meta = event.basicCallMeta
        self.callers[str(meta.callID)] = getattr(meta, "from")
        while len(self.callers) > RECENT_CALLS:
            self.callers.popitem(last=False)
        self._emit(EV_CALL_OFFER, translate.call_offer(event, self._lid_to_pn))

    async def _on_presence(self, event: Any) -> None:
        data = neonize_presence.presence(event, self._lid_to_pn, self._ctx.clock.time())
        self._emit(EV_PRESENCE, dict(data))

    async def _on_chat_presence(self, event: Any) -> None:
        data = neonize_presence.chat_presence(event, self._lid_to_pn, self._ctx.clock.time())
        if data is not None:
            self._emit(EV_PRESENCE, dict(data))

    async def _on_joined_group(self, event: Any) -> None:
        self._emit(EV_GROUP_JOINED, dict(group_events.joined(event, self._lid_to_pn, self._ctx.clock.time())))

    async def _on_group_info(self, event: Any) -> None:
        now = self._ctx.clock.time()
        for name, data in group_events.changes(event, self.jid, self._lid_to_pn, now):
            self._emit(name, data)


def _messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": messages} if messages else {}
