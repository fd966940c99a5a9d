"""Request bodies: a JSON object (or a form, as the Go gateway accepted), read field by field.

Keys match case-insensitively and a field of the wrong type is a parse error, as Go's encoding/json
did (docs/go-gateway.md §3); every parse error is ``400 INVALID_REQUEST``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from wa_gateway import errors

_URLENCODED: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"


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


async def read_raw(request: web.Request) -> bytes:
    """The whole body; one that cannot be read (a bad ``Content-Encoding``) is ``400 INVALID_REQUEST``."""
    try:
        return await request.read()
    except RequestPayloadError:
        raise unreadable_body(request) from None


def unreadable_body(request: web.Request, spec: errors.ErrorSpec = errors.INVALID_REQUEST) -> errors.ApiError:
    # The stream is unusable: answer, then close this connection instead of letting aiohttp try to
    # drain the rest of the body and log the same failure again as a traceback.
    request.content.feed_eof()
    request.protocol.close()
    return errors.ApiError(spec)


async def read_body(request: web.Request) -> Body:
    """The body of any POST: JSON, a urlencoded form or multipart form fields (file parts are ignored),
    as the Go gateway's body parser accepted all three. A body that cannot be read (broken multipart
    framing, a bad ``Content-Encoding``) is ``400 INVALID_REQUEST``."""
    try:
        if request.content_type == _MULTIPART:
            # A multipart body can be read only once, as a stream: never ``read()`` it first.
            return _form_body(await request.post())
        raw = await read_raw(request)
        # ``curl -d '{...}'`` labels JSON as a form; a body that starts like a JSON object is read as one.
        if request.content_type == _URLENCODED and not raw.lstrip().startswith(b"{"):
            return _form_body(await request.post())
    except RequestPayloadError:
        raise unreadable_body(request) from None
    except (ValueError, HttpProcessingError):
        raise errors.ApiError(errors.INVALID_REQUEST) from None
    return Body(parse_json_object(raw))


def _form_body(form: Mapping[str, object]) -> Body:
    return Body({k: v for k, v in form.items() if isinstance(v, str)})
