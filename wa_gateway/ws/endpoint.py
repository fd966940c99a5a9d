"""``GET /ws``: origin allow-list at upgrade, first-message auth, then events (docs/go-gateway.md §5b).

Deliberate differences from the Go gateway (docs/go-gateway.md §5b): the auth reply is queued *before* the
client becomes eligible for broadcasts, close frames carry codes and reasons, the server pings, failed
keys count against the per-IP auth-failure limit, and ``subscribe`` narrows or widens what a client gets.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from wa_gateway import errors
from wa_gateway import vocabulary as v
from wa_gateway.auth import AuthGuard, KeyLookup
from wa_gateway.envelope import dumps
from wa_gateway.events.catalog import SEED_EVENTS
from wa_gateway.route_table import RouteTable, route
from wa_gateway.ws.hub import (
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_POLICY_VIOLATION,
    Subscription,
    WsClient,
    WsHub,
)

log = logging.getLogger("wa_gateway.ws")

AUTH_MAX_BYTES: Final = 1024
READ_LIMIT_BYTES: Final = 4096
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
        not isinstance(tokens, list)
        or not all(isinstance(t, str) and v.TOKEN_RE.fullmatch(t) for t in tokens)
    ):
        raise ValueError(f"tokens must be a list of device tokens ({v.TOKEN_RULE})")
    if events is not None and (
        not isinstance(events, list)
        or not all(isinstance(e, str) and (e == "*" or e in known_events) for e in events)
    ):
        raise ValueError(f"events must be a list of: *, {', '.join(sorted(known_events))}")
    return Subscription(
        tokens=frozenset(tokens) if tokens else None,
        events=frozenset(events) if events else None,
    )


def is_own_origin(origin: str, local_ip: str, local_port: int) -> bool:
    """A page the gateway served itself (the dashboard), reached by the address it listens on.

    The Host header cannot decide this: a DNS-rebinding page at ``http://evil.example:P`` sends
    ``Host: evil.example:P`` and would match itself. Only an IP literal equal to the connection's local
    address, or ``localhost`` on a loopback connection, names this gateway whatever DNS says (browsers
    never let a site resolve ``localhost``, RFC 6761 §6.3). Other names go in WS_ALLOWED_ORIGINS.
    """
    try:
        parts = urlsplit(origin)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if port != local_port or parts.scheme not in ("http", "https"):
        return False
    try:
        own = ipaddress.ip_address(local_ip.split("%", 1)[0])
    except ValueError:
        return False
    own = own.ipv4_mapped or own if isinstance(own, ipaddress.IPv6Address) else own
    if host == "localhost":
        return own.is_loopback
    try:
        return ipaddress.ip_address(host) == own
    except ValueError:
        return False


def _local_address(request: web.Request) -> tuple[str, int] | None:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return None
    return str(sockname[0]), int(sockname[1])


class WsEndpoint(RouteTable):
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

    def origin_allowed(self, origin: str | None, local: tuple[str, int] | None) -> bool:
        if "*" in self._origins:
            return True
        if not origin:
            return False
        if origin.lower().rstrip("/") in self._origins:
            return True
        return local is not None and is_own_origin(origin, *local)

    @route.get("/ws", allow_head=False)
    async def handle(self, request: web.Request) -> web.StreamResponse:
        # aiohttp refuses a message of max_msg_size bytes or more; the Go gateway's limit is "more than
        # READ_LIMIT_BYTES" (gorilla/websocket Conn.SetReadLimit), so a 4096-byte message still arrives.
        ws = web.WebSocketResponse(heartbeat=self._heartbeat, max_msg_size=READ_LIMIT_BYTES + 1)
        if not ws.can_prepare(request).ok:
            raise errors.ApiError(errors.UPGRADE_REQUIRED)
        origin = request.headers.get("Origin")
        if not self.origin_allowed(origin, _local_address(request)):
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
