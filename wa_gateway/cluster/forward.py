"""Any node answers any request: a call for a device another node runs is sent on to that node.

One hop at most (docs/cluster.md "Forwarding"): a forwarded request carries ``X-Cluster-Secret`` and
``X-Cluster-Forwarded-By``; the receiving node checks the secret in constant time, refuses the request
without it, and always handles a forwarded request itself, so two nodes that disagree about an owner for
a moment can never bounce a request between them. The client's own ``Authorization`` travels with it and
is checked again by the owner.
"""

from __future__ import annotations

import hmac
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestPayloadError

from wa_gateway import errors
from wa_gateway.middlewares import route_template

SECRET_HEADER: Final = "X-Cluster-Secret"
FORWARDED_BY_HEADER: Final = "X-Cluster-Forwarded-By"
# On a forwarded answer: the node that handled it.
SERVED_BY_HEADER: Final = "X-Cluster-Node"
# RFC 9110 §7.6.1 hop-by-hop fields, and the ones aiohttp sets again for the new message.
_NOT_COPIED: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
# Media uploads are streamed to disk by their handlers: their device is known only from the query string.
STREAMED_ROUTES: Final = frozenset({("POST", "/messages/media"), ("POST", "/status/media")})
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Long enough for the slowest engine command a route waits for (a connect: 60 s).
FORWARD_TIMEOUT_S: Final = 75.0

OwnerLookup = Callable[[str], Awaitable[str | None]]


class Forwarder:
    def __init__(self, node_id: str, secret: str, owner_url: OwnerLookup) -> None:
        self._node_id = node_id
        self._secret = secret.encode()
        self._owner_url = owner_url
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S), auto_decompress=False
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def middleware(self) -> Middleware:
        @web.middleware
        async def cluster_forward_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if FORWARDED_BY_HEADER in request.headers or SECRET_HEADER in request.headers:
                presented = request.headers.get(SECRET_HEADER, "").encode()
                if not self._secret or not hmac.compare_digest(presented, self._secret):
                    raise errors.ApiError(errors.CLUSTER_FORBIDDEN)
                return await self._serve_forwarded(request, handler)
            if not self._secret:
                return await handler(request)
            token = await _device_token(request)
            url = await self._owner_url(token) if token else None
            if url is None:
                return await handler(request)
            return await self._proxy(request, url)

        return cluster_forward_middleware

    async def _serve_forwarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        served_by = {SERVED_BY_HEADER: self._node_id}
        try:
            response = await handler(request)
        except (errors.ApiError, web.HTTPException) as exc:
            exc.headers.update(served_by)
            raise
        if not response.prepared:
            response.headers.update(served_by)
        return response

    async def _proxy(self, request: web.Request, base_url: str) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_COPIED}
        headers[SECRET_HEADER] = self._secret.decode()
        headers[FORWARDED_BY_HEADER] = self._node_id
        body = await request.read() if request.body_exists else None
        try:
            async with self._session.request(
                request.method, base_url + request.path_qs, headers=headers, data=body, allow_redirects=False
            ) as resp:
                payload = await resp.read()
                out = {k: v for k, v in resp.headers.items() if k.lower() not in _NOT_COPIED}
        except (aiohttp.ClientError, TimeoutError):
            raise errors.ApiError(errors.CLUSTER_NODE_UNREACHABLE) from None
        response = web.Response(status=resp.status, body=payload)
        response.headers.update(out)
        if resp.headers.get("Content-Encoding"):
            response.headers["Content-Encoding"] = resp.headers["Content-Encoding"]
        return response


async def _device_token(request: web.Request) -> str:
    """The device a request acts on: from the path, the query, or a JSON or form body ('' if none)."""
    token = request.match_info.get("token") or request.query.get("token", "")
    if token:
        return token
    template = route_template(request)
    if request.method not in _BODY_METHODS or (request.method, template) in STREAMED_ROUTES:
        return ""
    if not request.body_exists:
        return ""
    # aiohttp keeps the bytes it read, so the handler reads the same body again.
    try:
        body = await request.read()
    except RequestPayloadError:
        return ""  # the handler reads it again and answers 400 INVALID_REQUEST
    found: object = ""
    if request.content_type == "application/x-www-form-urlencoded":
        found = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
    else:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return ""
        if isinstance(parsed, dict):
            found = parsed.get("token", "")
    return found if isinstance(found, str) else ""
