"""Middlewares, outermost first: request id, access log, error envelope, CORS, auth, rate limit."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from wa_gateway import errors
from wa_gateway.apikeys import policy
from wa_gateway.auth import AuthGuard, KeyLookup
from wa_gateway.clientip import Network, request_client_ip
from wa_gateway.cors import CorsPolicy
from wa_gateway.envelope import REQUEST_ID_KEY, error_response
from wa_gateway.ratelimit import FixedWindowLimiter

log = logging.getLogger("wa_gateway.http")

# aiohttp raises these for routing and body-size failures; each maps to one envelope code.
_HTTP_STATUS_TO_SPEC: dict[int, errors.ErrorSpec] = {
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.PAYLOAD_TOO_LARGE,
    426: errors.UPGRADE_REQUIRED,
}


@web.middleware
async def error_envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as the JSON envelope; internal details go to the log, never to the client."""
    try:
        return await handler(request)
    except errors.ApiError as exc:
        return error_response(
            request, exc.status, exc.code, exc.message, headers=exc.headers, field=exc.field
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        spec = _HTTP_STATUS_TO_SPEC.get(exc.status)
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        if spec is None:
            code = "BAD_REQUEST" if exc.status < 500 else errors.INTERNAL_ERROR.code
            return error_response(request, exc.status, code, exc.reason, headers=headers)
        return error_response(request, exc.status, spec.code, spec.message, headers=headers)
    except Exception:
        log.exception("unhandled error in handler", extra={"path": request.path})
        spec = errors.INTERNAL_ERROR
        return error_response(request, spec.status, spec.code, spec.message)


QUIET_ROUTES = frozenset({"/health"})
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Echo a sane incoming ``X-Request-Id``, else mint a UUID4; it goes in meta, the header and the log."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else str(uuid.uuid4())
    request[REQUEST_ID_KEY] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-Id"] = request_id
        raise
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


def route_template(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


RequestObserver = Callable[[web.Request, str | None, int, float], None]
"""``observe(request, route_template, status, seconds)``, called once per finished request."""


def make_access_log_middleware(
    proxies: Sequence[Network], observers: Sequence[RequestObserver] = ()
) -> Middleware:
    """One access line per request, and the same outcome handed to ``observers`` (metrics)."""
    access = logging.getLogger("wa_gateway.access")

    @web.middleware
    async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = route_template(request)
            seconds = time.perf_counter() - started
            for observe in observers:
                observe(request, route, status, seconds)
            # Health probes (Docker, load balancers, uptime checks) hit /health every few seconds; a
            # healthy answer is logged at debug so it does not bury the requests that matter.
            level = logging.DEBUG if route in QUIET_ROUTES and status == 200 else logging.INFO
            if access.isEnabledFor(level):
                # The route template, not the raw path: paths carry phone numbers (§19 item 11).
                access.log(
                    level,
                    "request",
                    extra={
                        "method": request.method,
                        "route": route or "<unmatched>",
                        "status": status,
                        "durationMs": round(seconds * 1000, 2),
                        "ip": request_client_ip(request, proxies),
                        "requestId": request.get(REQUEST_ID_KEY, ""),
                    },
                )

    return access_log_middleware


def make_cors_middleware(origins: Sequence[str]) -> Middleware:
    policy = CorsPolicy(origins)

    @web.middleware
    async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin and "Access-Control-Request-Method" in request.headers:
            # Preflights are answered here, before auth: browsers never send credentials on them.
            return web.Response(status=204, headers=policy.preflight_headers(origin))
        try:
            response = await handler(request)
        except (errors.ApiError, web.HTTPException) as exc:
            exc.headers.update(policy.simple_headers(origin))
            raise
        if not response.prepared:
            response.headers.update(policy.simple_headers(origin))
        return response

    return cors_middleware


def make_auth_middleware(guard: AuthGuard, lookup: KeyLookup, public_routes: frozenset[str]) -> Middleware:
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        template = route_template(request)
        if template in public_routes:
            return await handler(request)
        principal = guard.identify(request, lookup)
        policy.authorize(request, principal, template)
        entered = policy.enter(request, principal)
        try:
            return await handler(request)
        finally:
            policy.leave(entered)

    return auth_middleware


def make_rate_limit_middleware(
    limits: Mapping[tuple[str, str], FixedWindowLimiter], proxies: Sequence[Network]
) -> Middleware:
    @web.middleware
    async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        template = route_template(request)
        limiter = limits.get((request.method, template or ""))
        if limiter is None or not limiter.enabled:
            return await handler(request)
        ip = request_client_ip(request, proxies)
        decision = limiter.hit(f"{ip} {request.method} {template}")
        if not decision.allowed:
            raise errors.ApiError(errors.RATE_LIMITED, headers=decision.headers())
        try:
            response = await handler(request)
        except (errors.ApiError, web.HTTPException) as exc:
            exc.headers.update(decision.headers())
            raise
        if not response.prepared:
            response.headers.update(decision.headers())
        return response

    return rate_limit_middleware
