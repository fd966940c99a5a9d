"""Request bodies: a JSON object (or a form, as the Go gateway accepted), read field by field.

Keys match case-insensitively and a field of the wrong type is a parse error, as Go's encoding/json
did (wa-gateway-go-behaviour.md §4); every parse error is ``400 INVALID_REQUEST``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from . import errors

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Body:
    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._lower = {k.lower(): v for k, v in fields.items()}

    def _get(self, name: str) -> Any:
        if name in self._fields:
            return self._fields[name]
        return self._lower.get(name.lower())

    def text(self, name: str) -> str:
        """A string field; missing or null is "" (Go leaves it empty), any other type is an error."""
        value = self._get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise errors.ApiError(errors.INVALID_REQUEST, field=name)
        return value

    def optional(self, name: str, kind: type | tuple[type, ...]) -> Any:
        value = self._get(name)
        if value is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is int)):
            raise errors.ApiError(errors.INVALID_REQUEST, field=name)
        return value


def parse_json_object(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """A JSON object body; ``null`` counts as no fields (as Go's decoder had it), and so does an empty body
    when ``allow_empty``. Anything else is ``400 INVALID_REQUEST``."""
    if allow_empty and not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.ApiError(errors.INVALID_REQUEST) from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise errors.ApiError(errors.INVALID_REQUEST)
    return parsed


async def read_body(request: web.Request) -> Body:
    raw = await request.read()
    # ``curl -d '{...}'`` labels JSON as a form; a body that starts like a JSON object is read as one.
    if request.content_type in _FORM_TYPES and not raw.lstrip().startswith(b"{"):
        form = await request.post()
        return Body({k: v for k, v in form.items() if isinstance(v, str)})
    return Body(parse_json_object(raw))
