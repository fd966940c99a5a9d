"""Parsers for the arguments of declared engine commands (``engine/commands.py``).

Each parser takes the wire key and the raw value (``None`` when absent) and returns the typed value a
backend handler receives, or raises ``E_INVALID_ARGUMENT`` naming the key. They check *shape* only: what a
value means (a poll's options, a group's rules) is the backends' business, so a backend called directly
refuses the same things.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wa_gateway.engine.contract import E_INVALID_ARGUMENT, EngineError

Parser = Callable[[str, Any], Any]


def invalid(message: str) -> EngineError:
    return EngineError(E_INVALID_ARGUMENT, message)


def text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"{key} must be a non-empty string")
    return value


def optional_text(key: str, value: Any) -> str | None:
    """An optional string; empty means absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"{key} must be a string or null")
    return value


def any_text(key: str, value: Any) -> str:
    """A string that may be empty (an emoji of "" removes a reaction)."""
    if not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    return value


def path(key: str, value: Any) -> Path:
    return Path(text(key, value))


def text_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"{key} must be a list of non-empty strings")
    return value


def optional_text_list(key: str, value: Any) -> list[str]:
    return [] if value is None else text_list(key, value)


def strings(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{key} must be a list of strings")
    return value


def flag(key: str, value: Any) -> bool:
    """A boolean that defaults to false."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"{key} must be true or false")
    return value


def optional_flag(key: str, value: Any) -> bool | None:
    return None if value is None else flag(key, value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def count(key: str, value: Any) -> int:
    """A non-negative integer that defaults to 0."""
    if value is None:
        return 0
    if not _is_count(value):
        raise invalid(f"{key} must be a non-negative integer")
    return int(value)


def optional_count(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _is_count(value):
        raise invalid(f"{key} must be a non-negative integer or null")
    return int(value)


def choice(*values: str, default: str | None = None) -> Parser:
    """One of ``values``; absent means ``default`` when one is given."""

    def parse(key: str, value: Any) -> str:
        if value is None and default is not None:
            return default
        if value not in values:
            raise invalid(f"{key} must be one of {', '.join(values)}")
        return str(value)

    return parse


def optional_string(key: str, value: Any) -> str | None:
    """An optional string that may be empty (an empty topic clears it)."""
    return None if value is None else any_text(key, value)
