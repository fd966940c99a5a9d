"""What happens when a device receives something: its events, auto read receipts and automatic call
rejection. Contacts are captured by a subscriber of these events (``contacts/capturing.py``)."""

from __future__ import annotations

import logging
from typing import Any, Final

from wa_gateway.devices.engine_calls import EngineClient
from wa_gateway.engine import contract as c
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import EventBus
from wa_gateway.events.model import EventType

BROADCAST_SUFFIX: Final = "@broadcast"
log = logging.getLogger("wa_gateway.inbound")

MARK_READ_TIMEOUT_S: Final = 30.0
REJECT_CALL_TIMEOUT_S: Final = 30.0
CALL_REPLY_TIMEOUT_S: Final = 60.0
_MESSAGE_FIELDS: Final = ("id", "from", "chat", "pushName", "text", "type", "caption", "replyTo", "isGroup")
# Engine event -> its event; the fields are copied as they are, ``timestamp`` is formatted as UTC.
_ACTION_EVENTS: Final[dict[str, EventType]] = {
    c.EV_REACTION: ev.MESSAGE_REACTION,
    c.EV_MESSAGE_EDITED: ev.MESSAGE_EDITED,
    c.EV_MESSAGE_REVOKED: ev.MESSAGE_REVOKED,
    c.EV_POLL_VOTE: ev.MESSAGE_POLL_VOTE,
}


def when(data: dict[str, Any]) -> str:
    stamp = data.get("timestamp")
    return utc_timestamp(float(stamp)) if isinstance(stamp, int | float) else utc_timestamp()


class InboundEvents:
    def __init__(
        self,
        engine: EngineClient,
        bus: EventBus,
        *,
        auto_read_receipt: bool,
        auto_reject_calls: bool = False,
        auto_reject_message: str = "",
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._auto_read = auto_read_receipt
        self._reject_calls = auto_reject_calls
        self._reject_message = auto_reject_message

    async def handle(self, token: str, event: str, data: dict[str, Any]) -> None:
        if event == c.EV_MESSAGE:
            await self._message(token, data)
        elif event == c.EV_RECEIPT:
            await self._receipt(token, data)
        elif event == c.EV_HISTORY_SYNC:
            await self._bus.publish(ev.HISTORY_SYNCED(token, source=data))
        elif event == c.EV_CALL_OFFER:
            await self._call_offer(token, data)
        elif event in _ACTION_EVENTS:
            kind = _ACTION_EVENTS[event]
            payload = {f.key: data.get(f.key) for f in kind.fields}
            if "isNewsletter" in kind.keys:
                payload["isNewsletter"] = is_newsletter(data)
            payload["timestamp"] = when(data)
            await self._bus.publish(kind(token, payload, source=data))

    async def _message(self, token: str, data: dict[str, Any]) -> None:
        if data.get("fromMe") is True:
            return
        payload = {name: data.get(name) for name in _MESSAGE_FIELDS}
        payload["media"] = media_info(data.get("media"))
        mentions = data.get("mentions")
        payload["mentions"] = mentions if isinstance(mentions, list) else []
        payload["isNewsletter"] = is_newsletter(data)
        payload["timestamp"] = when(data)
        await self._bus.publish(ev.MESSAGE_RECEIVED(token, payload, source=data))
        # Reading a status post would tell its author it was seen (docs/engine.md, "Wrapped messages"); a
        # channel is never read this way: whatsmeow counts its views apart (docs/channels.md).
        chat = str(data.get("chat", ""))
        if (
            self._auto_read
            and data.get("id")
            and not chat.endswith(BROADCAST_SUFFIX)
            and not is_newsletter(data)
        ):
            await self._mark_read(token, data)

    async def _mark_read(self, token: str, data: dict[str, Any]) -> None:
        args = {
            "token": token,
            "chat": data.get("chat") or data.get("from"),
            # In a group the receipt names the participant who wrote the message.
            "sender": data.get("from") if data.get("isGroup") else None,
            "ids": [data["id"]],
        }
        await self._engine.attempt(
            c.CMD_MARK_READ, args, within=MARK_READ_TIMEOUT_S, failed="auto read receipt failed"
        )

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
            "timestamp": when(data),
        }
        await self._bus.publish(ev.CALL_OFFER(token, payload, source=data))
        if rejected and self._reject_message:
            await self._tell_caller(token, caller)

    async def _reject_call(self, token: str, caller: str, data: dict[str, Any]) -> bool:
        args = {"token": token, "from": caller, "call_id": data.get("callId")}
        return await self._engine.attempt(
            c.CMD_REJECT_CALL, args, within=REJECT_CALL_TIMEOUT_S, failed="automatic call rejection failed"
        )

    async def _tell_caller(self, token: str, caller: Any) -> None:
        args = {"token": token, "to": caller, "text": self._reject_message, "typing_ms": 0}
        await self._engine.attempt(
            c.CMD_SEND_TEXT, args, within=CALL_REPLY_TIMEOUT_S, failed="reply to a rejected call failed"
        )

    async def _receipt(self, token: str, data: dict[str, Any]) -> None:
        payload = {
            "type": data.get("type"),
            "messageIds": data.get("messageIds", []),
            "from": data.get("from"),
            "chat": data.get("chat"),
            "timestamp": when(data),
        }
        await self._bus.publish(ev.MESSAGE_RECEIPT(token, payload, source=data))


def is_newsletter(data: dict[str, Any]) -> bool:
    return data.get("isNewsletter") is True


def media_info(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    size = raw.get("size")
    return {
        "mimetype": raw.get("mimetype"),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
        "filename": raw.get("filename"),
    }
