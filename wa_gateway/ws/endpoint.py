"""``GET /ws``: origin allow-list at upgrade, first-message auth, then events (Go behaviour §10).

Deliberate differences from the Go gateway (shared/DESIGN.md): the auth reply is queued *before* the
client becomes eligible for broadcasts, close frames carry codes and reasons, the server pings, failed
keys count against the per-IP auth-failure limit, and ``subscribe`` narrows or widens what a client gets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from .. import errors
from ..auth import AuthGuard, KeyLookup
from ..envelope import dumps
from .hub import (
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_POLICY_VIOLATION,
    SEED_EVENTS,
    Subscription,
    WsClient,
    WsHub,
)

log = logging.getLogger("wa_gateway.ws")

AUTH_MAX_BYTES: Final = 1024
READ_LIMIT_BYTES: Final = 4096
_TOKEN_RE = re.compile(r"[0-9]{7,15}")
_FLUSH_SECONDS: Final = 1.0


class _BadFormat(Exception):
    pass


def _field(message: dict[str, Any], name: str) -> Any:
    # Go's encoding/json matched keys case-insensitively; clients written for it may rely on that.
    if name in message:
        return message[name]
    lowered = name.lower()
    for key, value in message.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _parse_auth(raw: bytes | str) -> tuple[str, str]:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _BadFormat from None
    if message is None:
        return "", ""
    if not isinstance(message, dict):
        raise _BadFormat
    msg_type, api_key = _field(message, "type"), _field(message, "apiKey")
    if not isinstance(msg_type, str | None) or not isinstance(api_key, str | None):
        raise _BadFormat
    return msg_type or "", api_key or ""


def parse_subscription(message: dict[str, Any], known_events: frozenset[str]) -> Subscription:
    """``{"type":"subscribe","tokens":[..],"events":[..]}``; an empty or missing list means "all"/default."""
    tokens = message.get("tokens")
    events = message.get("events")
    if tokens is not None and (
        not isinstance(tokens, list) or not all(isinstance(t, str) and _TOKEN_RE.fullmatch(t) for t in tokens)
    ):
        raise ValueError("tokens must be a list of device tokens (7-15 digits)")
    if events is not None and (
        not isinstance(events, list)
        or not all(isinstance(e, str) and (e == "*" or e in known_events) for e in events)
    ):
        raise ValueError(f"events must be a list of: *, {', '.join(sorted(known_events))}")
    return Subscription(
        tokens=frozenset(tokens) if tokens else None,
        events=frozenset(events) if events else None,
    )


class WsEndpoint:
    def __init__(
        self,
        hub: WsHub,
        *,
        lookup: KeyLookup,
        allowed_origins: Sequence[str],
        auth_timeout: float,
        heartbeat: float,
        queue_size: int,
        guard: AuthGuard,
        known_events: frozenset[str],
    ) -> None:
        self._hub = hub
        self._lookup = lookup
        self._origins = frozenset(allowed_origins)
        self._auth_timeout = auth_timeout
        self._heartbeat = heartbeat
        self._queue_size = queue_size
        self._guard = guard
        self._known_events = known_events

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws", self.handle, allow_head=False)]

    def origin_allowed(self, origin: str | None, host: str) -> bool:
        if "*" in self._origins:
            return True
        if not origin:
            return False
        if origin.lower().rstrip("/") in self._origins:
            return True
        # A page served by this gateway (the dashboard) is same-origin: it is not a cross-site hijack,
        # which is all the allow-list guards against, so it needs no entry in WS_ALLOWED_ORIGINS.
        return urlsplit(origin).netloc.lower() == host.lower()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=self._heartbeat, max_msg_size=READ_LIMIT_BYTES)
        if not ws.can_prepare(request).ok:
            raise errors.ApiError(errors.UPGRADE_REQUIRED)
        origin = request.headers.get("Origin")
        if not self.origin_allowed(origin, request.host):
            log.warning("websocket origin rejected", extra={"origin": origin, "ip": request.remote})
            raise errors.ApiError(errors.ORIGIN_NOT_ALLOWED)
        ip = self._guard.admit(request)
        await ws.prepare(request)
        client = WsClient(ws, request, self._queue_size)
        self._hub.add(client)
        client.start_writer()
        try:
            if await self._authenticate(client, ip):
                await self._serve(client)
        finally:
            self._hub.discard(client)
            if not client.closing:
                await client.close(CLOSE_POLICY_VIOLATION if not client.authenticated else 1000, "")
        return ws

    async def _fail(self, client: WsClient, reason: str, code: int = CLOSE_POLICY_VIOLATION) -> bool:
        log.warning("websocket auth failed", extra={"reason": reason, "ip": client.request.remote})
        client.offer(dumps({"type": "auth", "success": False, "message": reason}))
        await client.flush(within=_FLUSH_SECONDS)
        await client.close(code, reason)
        return False

    async def _authenticate(self, client: WsClient, ip: str) -> bool:
        try:
            msg = await client.ws.receive(timeout=self._auth_timeout)
        except TimeoutError:
            return await self._fail(client, errors.WS_AUTH_TIMEOUT)
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            # Closed, or over READ_LIMIT_BYTES (aiohttp has already closed with 1009): nothing to answer.
            return False
        raw: bytes | str = msg.data
        if len(raw.encode() if isinstance(raw, str) else raw) > AUTH_MAX_BYTES:
            return await self._fail(client, errors.WS_MESSAGE_TOO_LARGE, CLOSE_MESSAGE_TOO_BIG)
        try:
            msg_type, api_key = _parse_auth(raw)
        except _BadFormat:
            return await self._fail(client, errors.WS_INVALID_FORMAT)
        if msg_type != "auth":
            return await self._fail(client, errors.WS_FIRST_MESSAGE_NOT_AUTH)
        if not api_key:
            return await self._fail(client, errors.WS_API_KEY_REQUIRED)
        principal = self._lookup(api_key)
        if principal is None:
            self._guard.failed(ip)
            return await self._fail(client, errors.WS_INVALID_API_KEY)
        client.principal = principal
        # The reply is queued before the client joins the broadcast set, so it always arrives first.
        client.offer(dumps({"type": "auth", "success": True}))
        self._hub.authenticate(client)
        return True

    async def _serve(self, client: WsClient) -> None:
        async for msg in client.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                message = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if kind == "subscribe":
                self._subscribe(client, message)
            elif kind == "ping":
                client.offer(dumps({"type": "pong"}))
            # Anything else (a second auth included) is ignored, as the Go gateway does.

    def _subscribe(self, client: WsClient, message: dict[str, Any]) -> None:
        try:
            subscription = parse_subscription(message, self._known_events)
        except ValueError as exc:
            client.offer(dumps({"type": "subscribe", "success": False, "message": str(exc)}))
            return
        forbidden = sorted(t for t in subscription.tokens or () if not client.principal.may_use(t))
        if forbidden:
            reason = errors.WS_DEVICE_FORBIDDEN.format(token=forbidden[0])
            client.offer(dumps({"type": "subscribe", "success": False, "message": reason}))
            return
        client.subscription = subscription
        client.offer(
            dumps(
                {
                    "type": "subscribe",
                    "success": True,
                    "tokens": sorted(subscription.tokens) if subscription.tokens else [],
                    "events": sorted(subscription.events or SEED_EVENTS),
                }
            )
        )
