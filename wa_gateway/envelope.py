"""The JSON envelope every response carries, and the one orjson ``dumps`` used for all JSON out.

Shape (docs/architecture.md "API contract"):
``{success, data?, message?, error?{code,message}, meta{timestamp, requestId}}``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

REQUEST_ID_KEY = web.RequestKey("request_id", str)

JSON_CONTENT_TYPE = "application/json"


def dumps(obj: Any) -> bytes:
    """The single JSON encoder for responses, WebSocket frames and webhook bodies."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def utc_timestamp(epoch: float | None = None) -> str:
    """UTC RFC 3339 at second precision with ``Z``, as the Go gateway writes it."""
    if epoch is None:
        # Every response's meta carries the current one: formatted once per second, not per request.
        global _stamp
        second = int(time.time())
        if second != _stamp[0]:
            _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return _stamp[1]
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


_stamp: tuple[int, str] = (-1, "")


def utc_timestamp_ms(epoch: float) -> str:
    """UTC RFC 3339 with milliseconds, for logs where sub-second order matters (the sandbox sent log)."""
    whole = int(epoch)
    millis = min(999, round((epoch - whole) * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def request_id_of(request: web.Request) -> str:
    # A request that never went through the request-id middleware (aiohttp's own 400 for a
    # malformed request line, for one) still gets an id, so the envelope is always complete.
    return request.get(REQUEST_ID_KEY) or str(uuid.uuid4())


def meta(request: web.Request) -> dict[str, str]:
    return {"timestamp": utc_timestamp(), "requestId": request_id_of(request)}


def body(
    request: web.Request,
    *,
    success: bool,
    data: Any = None,
    message: str | None = None,
    error: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"success": success}
    # A success always carries ``data`` (``{}`` when there is nothing to return), so clients can read
    # ``data`` without checking for it; the Go gateway omitted it on such answers (docs/dropin.md).
    if data is not None:
        out["data"] = data
    elif success:
        out["data"] = {}
    if message:
        out["message"] = message
    if error is not None:
        out["error"] = dict(error)
    out["meta"] = meta(request)
    return out


def ok(
    request: web.Request,
    data: Any = None,
    message: str | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    return json_response(
        body(request, success=True, data=data, message=message), status=status, headers=headers
    )


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    field: str | None = None,
) -> web.Response:
    error = (
        {"code": code, "message": message}
        if field is None
        else {"code": code, "message": message, "field": field}
    )
    payload = body(request, success=False, error=error)
    return json_response(payload, status=status, headers=headers)


def json_response(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(body=dumps(payload), status=status, headers=headers, content_type=JSON_CONTENT_TYPE)
