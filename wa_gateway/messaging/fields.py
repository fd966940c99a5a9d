"""Fields the message routes share: the device token, message ids, message text, timestamps."""

from __future__ import annotations

import re
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.apikeys.policy import require_device
from wa_gateway.body import Body
from wa_gateway.envelope import utc_timestamp
from wa_gateway.phone import is_blank, is_valid_token

# WhatsApp rejects longer texts; failing early gives a clear error instead of an engine failure.
MAX_TEXT_CHARS: Final = 65536
# whatsmeow ids are hex ("3EB0…"); other clients send base64-ish ids ("wamid.…=="). The first character
# is alphanumeric so an id can never be "." or "..": the engine names download files after it.
MESSAGE_ID_RE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z._=+:-]{0,127}")
MAX_MESSAGE_IDS: Final = 1000


def token_and_text(body: Body) -> tuple[str, str]:
    """The device and the text of a text message, checked in the Go gateway's order: token, then text."""
    return body_token(body), message_text(body.text("text"))


def body_token(body: Body) -> str:
    token = body.text("token")
    if not token:
        raise errors.ApiError(errors.MISSING_TOKEN)
    if not is_valid_token(token):
        raise errors.ApiError(errors.INVALID_TOKEN)
    require_device(token)
    return token


def message_text(text: str) -> str:
    if not text or is_blank(text):
        raise errors.ApiError(errors.INVALID_MESSAGE)
    if len(text) > MAX_TEXT_CHARS:
        raise errors.ApiError(errors.MESSAGE_TOO_LONG)
    return text


def is_message_id(raw: str) -> bool:
    return MESSAGE_ID_RE.fullmatch(raw) is not None


def message_id(raw: str, spec: errors.ErrorSpec = errors.INVALID_MESSAGE_ID) -> str:
    if not is_message_id(raw):
        raise errors.ApiError(spec)
    return raw


def reply_to(body: Body) -> str | None:
    raw = body.optional("replyTo", str)
    if raw is None or raw == "":
        return None
    return message_id(raw, errors.INVALID_REPLY_TO)


def message_ids(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MESSAGE_IDS:
        raise errors.ApiError(errors.INVALID_MESSAGE_IDS)
    if not all(isinstance(i, str) and is_message_id(i) for i in raw):
        raise errors.ApiError(errors.INVALID_MESSAGE_IDS)
    return list(dict.fromkeys(raw))


def sent(result: Any) -> dict[str, str]:
    """``{messageId, timestamp}`` from an engine ``{id, timestamp}`` reply."""
    return {"messageId": str(result["id"]), "timestamp": utc_timestamp(float(result["timestamp"]))}
