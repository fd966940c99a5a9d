"""The ``Idempotency-Key`` header on every route that sends something to WhatsApp.

Following draft-ietf-httpapi-idempotency-key-header (and Stripe's API, which it describes): the first
request with a key runs; a repeat with the same key and the same request gets the first response again
(header ``Idempotent-Replayed: true``) and sends nothing; the same key with another request is
``422 IDEMPOTENCY_KEY_REUSED``; a repeat while the first still runs is ``409 IDEMPOTENCY_IN_PROGRESS``.
Only successful responses are kept: after an error nothing was sent, so a retry may run again.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Final

import orjson
from aiohttp import web

from wa_gateway import errors
from wa_gateway.auth import presented_api_key
from wa_gateway.clock import Clock
from wa_gateway.engine import send_ids
from wa_gateway.idempotency.store import IdempotencyStore

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_CHARS: Final = 255
# (method, route template) of every route that puts something on WhatsApp.
SENDING_ROUTES: Final = frozenset(
    {
        ("POST", "/messages"),
        ("POST", "/messages/media"),
        ("POST", "/polls"),
        ("POST", "/messages/{id}/reaction"),
        ("PATCH", "/messages/{id}"),
        ("DELETE", "/messages/{id}"),
        ("POST", "/status"),
        ("POST", "/status/media"),
    }
)
# Routes whose handlers read the body themselves, with their own size limit (media can be larger than
# MAX_BODY_BYTES) and as a stream: the middleware must not read it first.
STREAMED_ROUTES: Final = frozenset({("POST", "/messages/media"), ("POST", "/status/media")})
_MULTIPART: Final = "multipart/form-data"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_CHARS and all(" " <= ch <= "~" for ch in key)


def _device_token(request: web.Request, body: bytes) -> str:
    """The device the request is for, from a JSON or form body or the query; '' when it cannot be told."""
    token: object = request.query.get("token", "")
    if request.content_type == "application/x-www-form-urlencoded":
        token = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("token", [token])[0]
    elif body:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            token = parsed.get("token", token)
    return token if isinstance(token, str) else ""


def _fingerprint(request: web.Request, route: str, body: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in (request.method, route, request.path_qs, request.content_type):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    if body is None:
        # A media body is streamed to disk by its handler and cannot be read twice; its size and framing
        # stand in for its bytes.
        digest.update(request.headers.get("Content-Type", "").encode() + b"\0")
        digest.update(request.headers.get("Content-Length", "").encode())
    else:
        digest.update(body)
    return digest.hexdigest()


def make_idempotency_middleware(
    store: IdempotencyStore, clock: Clock
) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        route = _route(request)
        if key is None or (request.method, route) not in SENDING_ROUTES:
            return await handler(request)
        if not _valid_key(key):
            raise errors.ApiError(errors.INVALID_IDEMPOTENCY_KEY)
        streamed = request.content_type == _MULTIPART or (request.method, route) in STREAMED_ROUTES
        body = None if streamed else await request.read()
        api_key = (presented_api_key(request) or "").encode("utf-8", "surrogateescape")
        scope = hashlib.sha256(api_key).hexdigest() + ":" + _device_token(request, body or b"")
        claim = await store.begin(scope, key, _fingerprint(request, route, body), clock.time())
        if claim.outcome == "reused":
            raise errors.ApiError(errors.IDEMPOTENCY_KEY_REUSED)
        if claim.outcome == "running":
            raise errors.ApiError(errors.IDEMPOTENCY_IN_PROGRESS)
        if claim.outcome == "done":
            return web.Response(
                status=claim.status,
                body=claim.body,
                content_type="application/json",
                headers={REPLAYED_HEADER: "true"},
            )
        # The messages this request sends get WhatsApp ids derived from the key: if this attempt's outcome
        # is lost (503 SEND_OUTCOME_UNKNOWN keeps no record), its retry sends the same message again.
        bound = send_ids.bind_request(scope, key)
        try:
            response = await handler(request)
        except BaseException:
            await store.abandon(scope, key)
            raise
        finally:
            send_ids.unbind_request(bound)
        if isinstance(response, web.Response) and 200 <= response.status < 300 and response.body is not None:
            await store.finish(scope, key, response.status, bytes(response.body))  # type: ignore[arg-type]
        else:
            await store.abandon(scope, key)
        return response

    return idempotency_middleware
