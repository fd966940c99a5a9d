"""The messages of a sandbox history sync: the chats' past, as a real phone sends it to a new device.

Each entry is ``{id?, from?, chat?, fromMe?, text, pushName?, timestamp?}`` (``timestamp`` in ISO 8601);
they reach the gateway as ``IncomingMessage`` objects in ``EV_HISTORY_SYNC["messages"]`` (docs/messages.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from wa_gateway.backends.sandbox.args import GROUP_SERVER, USER_SERVER, arg_phone, chat_jid, optional_text
from wa_gateway.backends.sandbox.ids import message_id
from wa_gateway.backends.sandbox.refs import ref_of
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.message_cache import CachedMessage

MAX_HISTORY_MESSAGES: Final = 10_000


def history_messages(raw: Any, own_phone: str, now: float) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_HISTORY_MESSAGES:
        raise checks.invalid(f"messages must be a list of at most {MAX_HISTORY_MESSAGES} messages")
    return [_message(entry, own_phone, now) for entry in raw]


def _message(entry: Any, own_phone: str, now: float) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise checks.invalid("each history message must be an object")
    from_me = entry.get("fromMe", False)
    if not isinstance(from_me, bool):
        raise checks.invalid("fromMe must be true or false")
    text = entry.get("text")
    if not isinstance(text, str):
        raise checks.invalid("each history message needs a text")
    if from_me:
        sender = own_phone
        if not entry.get("chat"):
            raise checks.invalid("a history message fromMe needs its chat")
    else:
        sender = arg_phone(entry, "from")
    chat = chat_jid(entry.get("chat"), sender)
    message: c.IncomingMessage = {
        "id": optional_text(entry, "id") or message_id(),
        "from": sender + USER_SERVER,
        "chat": chat,
        "pushName": optional_text(entry, "pushName") or "",
        "text": text,
        "type": "text",
        "timestamp": _when(entry, now),
        "isGroup": chat.endswith(GROUP_SERVER),
        "fromMe": from_me,
        "senderPhone": sender,
        "caption": None,
        "media": None,
        "replyTo": None,
        "mentions": [],
        "ref": "",
    }
    held = CachedMessage(
        id=message["id"],
        chat=chat,
        sender=message["from"],
        from_me=from_me,
        kind="text",
        timestamp=message["timestamp"],
        text=text,
    )
    message["ref"] = ref_of(held)
    return dict(message)


def _when(entry: dict[str, Any], now: float) -> float:
    raw = optional_text(entry, "timestamp")
    if not raw:
        return now
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise checks.invalid("timestamp must be an ISO 8601 time, like 2026-01-31T12:00:00Z") from None
    if when.tzinfo is None:
        raise checks.invalid("timestamp must name its time zone (…Z for UTC)")
    return when.timestamp()
