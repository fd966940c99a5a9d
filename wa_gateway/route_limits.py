"""Which of the Go gateway's three rate limits guards which route, one fixed-window limiter per route."""

from __future__ import annotations

from typing import Final

from wa_gateway.clock import Clock
from wa_gateway.config import Settings
from wa_gateway.groups.limits import LIMITED_ROUTES
from wa_gateway.ratelimit import FixedWindowLimiter

# Which seed limit guards which route (docs/go-gateway.md §2); unlisted routes are not limited.
ROUTE_LIMITS: Final = {
    ("POST", "/devices"): "devices",
    ("DELETE", "/devices/{token}"): "devices",
    ("DELETE", "/cache"): "devices",
    ("POST", "/messages"): "messages",
    ("POST", "/messages/media"): "messages",
    ("POST", "/messages/read"): "messages",
    ("POST", "/messages/{id}/reaction"): "messages",
    ("PATCH", "/messages/{id}"): "messages",
    ("DELETE", "/messages/{id}"): "messages",
    ("GET", "/messages/{token}/{id}/media"): "messages",
    ("POST", "/polls"): "messages",
    ("POST", "/presence"): "messages",
    ("GET", "/groups/{token}"): "messages",
    ("GET", "/groups/{token}/{gid}"): "messages",
    ("GET", "/contacts/{token}"): "messages",
    ("POST", "/presence/subscribe"): "messages",
    ("GET", "/presence/{token}/{phone}"): "messages",
    ("POST", "/status"): "messages",
    ("POST", "/status/media"): "messages",
    ("POST", "/validate/phone"): "validate",
    **dict.fromkeys(LIMITED_ROUTES, "messages"),
}


def route_limiters(settings: Settings, clock: Clock) -> dict[tuple[str, str], FixedWindowLimiter]:
    by_group = {
        "devices": settings.rate_limit_devices,
        "messages": settings.rate_limit_messages,
        "validate": settings.rate_limit_validate,
    }
    # One limiter per route, as the Go gateway had: routes never share a counter.
    return {route: FixedWindowLimiter(by_group[group], clock) for route, group in ROUTE_LIMITS.items()}
