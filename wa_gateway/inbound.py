"""What happens when a device receives something: webhooks, contact capture, auto read receipts and
automatic call rejection."""

from __future__ import annotations

import logging
from typing import Any, Final

from wa_gateway.contacts.capture import (
    contact_from_message,
    contacts_from_history,
    new_contacts_payload,
    phone_of_jid,
)
from wa_gateway.contacts.model import ContactBooks, ContactStoreError
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.notify import Notifier

BROADCAST_SUFFIX: Final = "@broadcast"
log = logging.getLogger("wa_gateway.inbound")

MARK_READ_TIMEOUT_S: Final = 30.0
REJECT_CALL_TIMEOUT_S: Final = 30.0
CALL_REPLY_TIMEOUT_S: Final = 60.0
# A first history sync can bring tens of thousands of contacts; one webhook of that size would exceed
# common receiver body limits (nginx's default is 1 MB), so the list goes out in slices.
CONTACTS_SYNC_CHUNK: Final = 1000
_MESSAGE_FIELDS: Final = ("id", "from", "chat", "pushName", "text", "type", "caption", "replyTo", "isGroup")
# Engine event -> (webhook event, fields copied as they are); ``timestamp`` is formatted as UTC.
_ACTION_EVENTS: Final = {
    c.EV_REACTION: ("message.reaction", ("id", "chat", "from", "targetId", "emoji", "isGroup")),
    c.EV_MESSAGE_EDITED: ("message.edited", ("id", "chat", "from", "text", "isGroup")),
    c.EV_MESSAGE_REVOKED: ("message.revoked", ("id", "chat", "from", "isGroup")),
    c.EV_POLL_VOTE: ("message.poll_vote", ("pollId", "chat", "from", "options", "isGroup")),
}


def _when(data: dict[str, Any]) -> str:
    stamp = data.get("timestamp")
    return utc_timestamp(float(stamp)) if isinstance(stamp, int | float) else utc_timestamp()


class InboundEvents:
    def __init__(
        self,
        manager: DeviceManager,
        notifier: Notifier,
        contacts: ContactBooks,
        *,
        auto_read_receipt: bool,
        auto_reject_calls: bool = False,
        auto_reject_message: str = "",
    ) -> None:
        self._manager = manager
        self._notifier = notifier
        self._contacts = contacts
        self._auto_read = auto_read_receipt
        self._reject_calls = auto_reject_calls
        self._reject_message = auto_reject_message

    async def handle(self, token: str, event: str, data: dict[str, Any]) -> None:
        if event == c.EV_MESSAGE:
            await self._message(token, data)
        elif event == c.EV_RECEIPT:
            await self._receipt(token, data)
        elif event == c.EV_HISTORY_SYNC:
            await self._history_sync(token, data)
        elif event == c.EV_CALL_OFFER:
            await self._call_offer(token, data)
        elif event in _ACTION_EVENTS:
            name, fields = _ACTION_EVENTS[event]
            payload = {field: data.get(field) for field in fields}
            payload["timestamp"] = _when(data)
            await self._notifier.webhook(name, token, payload)

    def _own_phones(self, token: str) -> frozenset[str]:
        device = self._manager.get(token)
        own = phone_of_jid(device.jid) if device is not None and device.jid else None
        return frozenset({token, own} if own else {token})

    async def _message(self, token: str, data: dict[str, Any]) -> None:
        if data.get("fromMe") is True:
            return
        payload = {name: data.get(name) for name in _MESSAGE_FIELDS}
        payload["media"] = _media(data.get("media"))
        mentions = data.get("mentions")
        payload["mentions"] = mentions if isinstance(mentions, list) else []
        payload["timestamp"] = _when(data)
        await self._notifier.webhook("message.received", token, payload)
        row = contact_from_message(data, self._own_phones(token))
        if row is not None:
            new = await self._upsert(token, [row])
            for contact in new_contacts_payload([row], new):
                await self._notifier.webhook("contacts.new", token, contact)
        # Reading a status post would tell its author it was seen (docs/engine.md, "Wrapped messages").
        if self._auto_read and data.get("id") and not str(data.get("chat", "")).endswith(BROADCAST_SUFFIX):
            await self._mark_read(token, data)

    async def _mark_read(self, token: str, data: dict[str, Any]) -> None:
        args = {
            "token": token,
            "chat": data.get("chat") or data.get("from"),
            # In a group the receipt names the participant who wrote the message.
            "sender": data.get("from") if data.get("isGroup") else None,
            "ids": [data["id"]],
        }
        try:
            await self._manager.engine.request(c.CMD_MARK_READ, args, MARK_READ_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("auto read receipt failed", extra={"code": exc.code, "error": exc.message})

    async def _call_offer(self, token: str, data: dict[str, Any]) -> None:
        caller = data.get("from")
        rejected = False
        if self._reject_calls and isinstance(caller, str) and caller:
            rejected = await self._reject_call(token, caller, data)
        payload = {
            "from": caller,
            "callId": data.get("callId"),
            "isVideo": bool(data.get("isVideo")),
            "isGroup": bool(data.get("isGroup")),
            "rejected": rejected,
            "timestamp": _when(data),
        }
        await self._notifier.webhook("call.offer", token, payload)
        if rejected and self._reject_message:
            await self._tell_caller(token, caller)

    async def _reject_call(self, token: str, caller: str, data: dict[str, Any]) -> bool:
        args = {"token": token, "from": caller, "call_id": data.get("callId")}
        try:
            await self._manager.engine.request(c.CMD_REJECT_CALL, args, REJECT_CALL_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("automatic call rejection failed", extra={"code": exc.code, "error": exc.message})
            return False
        return True

    async def _tell_caller(self, token: str, caller: Any) -> None:
        args = {"token": token, "to": caller, "text": self._reject_message, "typing_ms": 0}
        try:
            await self._manager.engine.request(c.CMD_SEND_TEXT, args, CALL_REPLY_TIMEOUT_S)
        except c.EngineError as exc:
            log.warning("reply to a rejected call failed", extra={"code": exc.code, "error": exc.message})

    async def _receipt(self, token: str, data: dict[str, Any]) -> None:
        payload = {
            "type": data.get("type"),
            "messageIds": data.get("messageIds", []),
            "from": data.get("from"),
            "chat": data.get("chat"),
            "timestamp": _when(data),
        }
        await self._notifier.webhook("message.receipt", token, payload)

    async def _history_sync(self, token: str, data: dict[str, Any]) -> None:
        rows = contacts_from_history(data, self._own_phones(token))
        if not rows:
            return
        new = await self._upsert(token, rows)
        payload = new_contacts_payload(rows, new)
        for start in range(0, len(payload), CONTACTS_SYNC_CHUNK):
            await self._notifier.webhook("contacts.sync", token, payload[start : start + CONTACTS_SYNC_CHUNK])

    async def _upsert(self, token: str, rows: list[tuple[str, str, str]]) -> list[str]:
        try:
            return await self._contacts.get(token).upsert_many(rows)
        except ContactStoreError as exc:
            log.error("contacts not saved", extra={"count": len(rows), "error": str(exc)})
            return []


def _media(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    size = raw.get("size")
    return {
        "mimetype": raw.get("mimetype"),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
        "filename": raw.get("filename"),
    }
