"""Argument checks for the sandbox engine's commands, control operations and configuration."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from wa_gateway import vocabulary as v
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks

USER_SERVER: Final = f"@{v.USER_SERVER}"
GROUP_SERVER: Final = f"@{v.GROUP_SERVER}"

_PHONE: Final = re.compile(r"[0-9]{5,20}")


def positive_int(config: dict[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return value


def non_negative(config: dict[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a number of at least 0, got {value!r}")
    return float(value)


def check_token(token: str) -> None:
    # Tokens name files under sessions/: anything but digits could escape that directory.
    if not v.is_valid_token(token):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"token must be {v.TOKEN_RULE}")


def check_phone(phone: str, key: str) -> None:
    if not _PHONE.fullmatch(phone):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be digits only (5-20)")


def arg_token(args: dict[str, Any]) -> str:
    token = args.get("token")
    if not isinstance(token, str):
        raise c.EngineError(c.E_INVALID_ARGUMENT, "token is required")
    check_token(token)
    return token


def arg_phone(args: dict[str, Any], key: str) -> str:
    phone = args.get(key)
    if not isinstance(phone, str):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} is required")
    check_phone(phone, key)
    return phone


def optional_text(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be a string")
    return value


def optional_time(args: dict[str, Any], key: str) -> float | None:
    """An ISO 8601 time with its zone, as Unix seconds; None when absent or empty."""
    raw = optional_text(args, key)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise checks.invalid(f"{key} must be an ISO 8601 time, like 2026-01-31T12:00:00Z") from None
    if when.tzinfo is None:
        raise checks.invalid(f"{key} must name its time zone (…Z for UTC)")
    return when.timestamp()


def chat_jid(chat: Any, sender: str) -> str:
    if chat is None or chat == "":
        return sender + USER_SERVER
    if not isinstance(chat, str):
        raise c.EngineError(c.E_INVALID_ARGUMENT, "chat must be a string")
    if "@" in chat:
        return chat
    check_phone(chat, "chat")
    return chat + USER_SERVER


_JID: Final = re.compile(r"[0-9A-Za-z._:-]{1,64}@[a-z.]{1,32}")


def check_jid(jid: str, key: str) -> None:
    """``user@server`` as the gateway sends recipients (phone, LID and group JIDs)."""
    if not _JID.fullmatch(jid):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be a JID such as 6281234567890@s.whatsapp.net")


def arg_text(args: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    value = args.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be a non-empty string")
    return value


def arg_bool(args: dict[str, Any], key: str, default: bool = False) -> bool:
    value = args.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be true or false")
    return value


def arg_jids(args: dict[str, Any], key: str) -> list[str]:
    """A list of JIDs or phone numbers (as JIDs); an absent list is empty."""
    values = args.get(key)
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be a list of phone numbers or JIDs")
    jids = []
    for value in values:
        if "@" not in value:
            check_phone(value, key)
            value += USER_SERVER
        check_jid(value, key)
        jids.append(value)
    return jids


def arg_phones(args: dict[str, Any], key: str) -> list[str]:
    values = args.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise c.EngineError(c.E_INVALID_ARGUMENT, f"{key} must be a list of phone numbers")
    for value in values:
        check_phone(value, key)
    return values
