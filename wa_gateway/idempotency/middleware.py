"""``Idempotency-Key`` on every sending route: a repeat gets the first response, nothing is sent twice.

Following draft-ietf-httpapi-idempotency-key-header (and Stripe's behaviour): a key of 1-255 printable
characters, scoped by API key and device token, remembered for 24 hours and across restarts. Only 2xx
answers are stored; after any other answer the key is free again, so a client can retry once the device
is back. A key whose first request was cut off by a gateway crash answers SEND_OUTCOME_UNKNOWN: the send
may have happened (docs/durability.md).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Final

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .. import errors
from ..auth import presented_api_key
from ..clock import Clock
from .store import IdempotencyStore

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_CHARS: Final = 255
RETENTION_S: Final = 24 * 3600.0
SENDING_ROUTES: Final = frozenset(
    {
        ("POST", "/messages"),
        ("POST", "/messages/media"),
        ("POST", "/polls"),
        ("POST", "/messages/{id}/reaction"),
        ("PATCH", "/messages/{id}"),
        ("DELETE", "/messages/{id}"),
    }
)
STORE_KEY: Final = web.AppKey("idempotency_store", IdempotencyStore)


def _device(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    token = parsed.get("token") if isinstance(parsed, dict) else None
    return token if isinstance(token, str) else ""


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def make_idempotency_middleware(clock: Clock) -> Middleware:
    @web.middleware
    async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        route = request.match_info.route.resource
        canonical = route.canonical if route is not None else ""
        if key is None or (request.method, canonical) not in SENDING_ROUTES:
            return await handler(request)
        if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
            raise errors.ApiError(errors.INVALID_IDEMPOTENCY_KEY)
        store = request.app[STORE_KEY]
        if request.content_type == "multipart/form-data":
            # An upload is streamed to disk by its handler, so it is fingerprinted by its size, not read here.
            body = b""
            content = str(request.content_length or 0).encode()
        else:
            body = content = await request.read()
        api_key = (presented_api_key(request) or "").encode()
        scope = f"{_digest(api_key)[:32]}:{_device(body)}"
        fingerprint = _digest(request.method.encode(), request.rel_url.path.encode(), content)
        now = clock.time()
        claim = await store.begin(scope, key, fingerprint, now, now - RETENTION_S)
        if claim.outcome == "reused":
            raise errors.ApiError(errors.IDEMPOTENCY_KEY_REUSED)
        if claim.outcome == "running":
            raise errors.ApiError(errors.IDEMPOTENCY_IN_PROGRESS)
        if claim.outcome == "orphaned":
            raise errors.ApiError(errors.SEND_OUTCOME_UNKNOWN)
        if claim.outcome == "done":
            return web.Response(
                status=claim.status,
                body=claim.body,
                content_type="application/json",
                headers={REPLAYED_HEADER: "true"},
            )
        stored = False
        try:
            response = await handler(request)
            payload = response.body if isinstance(response, web.Response) else None
            if 200 <= response.status < 300 and isinstance(payload, bytes):
                await asyncio.shield(store.finish(scope, key, response.status, payload))
                stored = True
            return response
        finally:
            if not stored:
                await asyncio.shield(store.abandon(scope, key))

    return idempotency_middleware
