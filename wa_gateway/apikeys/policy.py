"""Which scope each route needs, and the device limit, checked for every authenticated request.

A route missing from ``ROUTE_SCOPES`` needs ``admin``: a new route is closed to scoped keys until it is
given a scope here. ``DELETE /cache`` is left to admin on purpose: it clears every device's cache.
The device a request acts on comes from the path (``{token}``) or, for the routes that take it in the
body, from ``body_token``, which calls ``require_device`` (docs/api-keys.md).
"""

from __future__ import annotations

import contextvars
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.apikeys.principal import ADMIN_SCOPE, Principal

PRINCIPAL_KEY: Final = web.RequestKey("principal", Principal)

ROUTE_SCOPES: Final[dict[tuple[str, str], str]] = {
    ("GET", "/devices"): "devices:read",
    ("GET", "/devices/{token}"): "devices:read",
    ("GET", "/devices/{token}/qr"): "devices:read",
    ("GET", "/health/detailed"): "devices:read",
    ("POST", "/devices"): "devices:write",
    ("DELETE", "/devices/{token}"): "devices:write",
    ("POST", "/messages"): "messages:send",
    ("POST", "/messages/media"): "messages:send",
    ("POST", "/messages/read"): "messages:send",
    ("POST", "/messages/{id}/reaction"): "messages:send",
    ("PATCH", "/messages/{id}"): "messages:send",
    ("DELETE", "/messages/{id}"): "messages:send",
    ("POST", "/polls"): "messages:send",
    ("POST", "/presence"): "messages:send",
    ("POST", "/presence/subscribe"): "messages:read",
    ("GET", "/presence/{token}/{phone}"): "messages:read",
    ("POST", "/status"): "messages:send",
    ("POST", "/status/media"): "messages:send",
    ("GET", "/messages/{token}/{id}/media"): "messages:read",
    ("GET", "/chats/{token}"): "messages:read",
    ("GET", "/messages/{token}"): "messages:read",
    ("GET", "/messages/{token}/{id}"): "messages:read",
    ("GET", "/contacts/{token}"): "contacts:read",
    ("GET", "/groups/{token}"): "contacts:read",
    ("GET", "/groups/{token}/{gid}"): "contacts:read",
    # Changing groups (docs/groups.md) stays admin-only until a scope is agreed for it.
    ("POST", "/validate/phone"): "contacts:read",
    ("GET", "/webhooks/stats"): "webhooks:admin",
    ("GET", "/webhooks/dead"): "webhooks:admin",
    ("POST", "/webhooks/dead/retry"): "webhooks:admin",
    ("POST", "/webhooks/dead/{id}/retry"): "webhooks:admin",
    ("POST", "/webhooks/events/{id}/redeliver"): "webhooks:admin",
    ("PUT", "/devices/{token}/webhook"): "webhooks:admin",
    ("GET", "/devices/{token}/webhook"): "webhooks:admin",
    ("DELETE", "/devices/{token}/webhook"): "webhooks:admin",
    ("POST", "/keys"): "keys:admin",
    ("GET", "/keys"): "keys:admin",
    ("DELETE", "/keys/{id}"): "keys:admin",
}
# The WebSocket shows device events to ``devices:read`` and every other event to ``messages:read``.
DEVICE_EVENTS: Final = frozenset(
    {
        "qrcode",
        "pairing-code",
        "connection-success",
        "connection-error",
        "device.connected",
        "device.disconnected",
        "device.reconnecting",
        "device.logged_out",
        "device.qr_expired",
        "device.banned",
    }
)

# The caller of the request being handled, for code that learns the device only from the body.
_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def route_scope(method: str, template: str | None) -> str:
    if method == "HEAD":
        method = "GET"
    return ROUTE_SCOPES.get((method, template or ""), ADMIN_SCOPE)


def event_scope(event: str) -> str:
    return "devices:read" if event in DEVICE_EVENTS else "messages:read"


def may_receive(principal: Principal, token: str, event: str) -> bool:
    return principal.may_use(token) and principal.has(event_scope(event))


def authorize(request: web.Request, principal: Principal, template: str | None) -> None:
    """Raise 403 when the key lacks the route's scope or the path names a device it may not use."""
    scope = route_scope(request.method, template)
    if not principal.has(scope):
        raise errors.ApiError(errors.SCOPE_FORBIDDEN, errors.SCOPE_FORBIDDEN.message.format(scope=scope))
    token = request.match_info.get("token")
    if token is not None and not principal.may_use(token):
        raise errors.ApiError(errors.DEVICE_FORBIDDEN)


def enter(request: web.Request, principal: Principal) -> contextvars.Token[Principal | None]:
    request[PRINCIPAL_KEY] = principal
    return _current.set(principal)


def leave(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)


def require_device(token: str) -> None:
    """403 when the current request's key is limited to other devices."""
    principal = _current.get()
    if principal is not None and not principal.may_use(token):
        raise errors.ApiError(errors.DEVICE_FORBIDDEN)


def caller(request: web.Request) -> Principal | None:
    """The request's principal; None on public routes."""
    return request.get(PRINCIPAL_KEY)


def visible_devices(request: web.Request, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The device summaries the request's key may see."""
    principal = caller(request)
    if principal is None or principal.devices is None:
        return devices
    return [d for d in devices if principal.may_use(str(d.get("token", "")))]
