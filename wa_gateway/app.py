"""``create_app(settings)``: routes, middlewares, resources and shutdown, and nothing else."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from . import keys
from .clock import Clock, SystemClock
from .config import Settings
from .health import HealthApi
from .middlewares import (
    error_envelope_middleware,
    make_access_log_middleware,
    make_auth_middleware,
    make_cors_middleware,
    make_rate_limit_middleware,
    request_id_middleware,
)
from .ratelimit import FixedWindowLimiter
from .ws.endpoint import WsEndpoint
from .ws.hub import SEED_EVENTS, WsHub

# Routes reachable without the API key (the WebSocket authenticates with its first message).
PUBLIC_ROUTES: Final = frozenset({"/health", "/ws"})

# Which seed limit guards which route (wa-gateway-go-behaviour.md §3.2); unlisted routes are not limited.
ROUTE_LIMITS: Final = {
    ("POST", "/devices"): "devices",
    ("DELETE", "/devices/{token}"): "devices",
    ("DELETE", "/cache"): "devices",
    ("POST", "/messages"): "messages",
    ("GET", "/contacts/{token}"): "messages",
    ("POST", "/validate/phone"): "validate",
}

WS_EVENTS: Final = SEED_EVENTS


def _limiters(settings: Settings, clock: Clock) -> dict[tuple[str, str], FixedWindowLimiter]:
    by_group = {
        "devices": settings.rate_limit_devices,
        "messages": settings.rate_limit_messages,
        "validate": settings.rate_limit_validate,
    }
    # One limiter per route, as the Go gateway had: routes never share a counter.
    return {route: FixedWindowLimiter(by_group[group], clock) for route, group in ROUTE_LIMITS.items()}


async def _close_websockets(app: web.Application) -> None:
    await app[keys.HUB_KEY].close_all()


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    clock = clock or SystemClock()
    proxies = settings.trusted_proxies
    auth_failures = FixedWindowLimiter(settings.rate_limit_auth_failures, clock)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            request_id_middleware,
            make_access_log_middleware(proxies),
            error_envelope_middleware,
            make_cors_middleware(settings.cors_origins),
            make_auth_middleware(settings.api_key, auth_failures, proxies, PUBLIC_ROUTES),
            make_rate_limit_middleware(_limiters(settings, clock), proxies),
        ],
    )
    hub = WsHub()
    app[keys.SETTINGS_KEY] = settings
    app[keys.CLOCK_KEY] = clock
    app[keys.HUB_KEY] = hub
    app[keys.AUTH_FAILURES_KEY] = auth_failures

    health = HealthApi(
        engine=settings.wa_engine,
        clock=clock,
        devices=list,
        ws_clients=lambda: len(hub),
    )
    ws = WsEndpoint(
        hub,
        api_key=settings.api_key,
        allowed_origins=settings.ws_allowed_origins,
        auth_timeout=settings.ws_auth_timeout,
        heartbeat=settings.ws_heartbeat_seconds,
        queue_size=settings.ws_queue_size,
        auth_failures=auth_failures,
        proxies=proxies,
        known_events=WS_EVENTS,
    )
    app.router.add_routes(health.routes())
    app.router.add_routes(ws.routes())
    app.on_shutdown.append(_close_websockets)
    return app
