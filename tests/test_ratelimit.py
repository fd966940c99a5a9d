"""Fixed windows per IP and route template, headers, reset by an injected clock, auth-failure limiting."""

from __future__ import annotations

import ipaddress

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.clientip import client_ip
from wa_gateway.clock import ManualClock
from wa_gateway.middlewares import error_envelope_middleware, make_rate_limit_middleware
from wa_gateway.ratelimit import FixedWindowLimiter

from .conftest import AUTH, SettingsFactory

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def limited_app(limit: int, clock: ManualClock, proxies=()) -> web.Application:
    limits = {
        ("POST", "/messages"): FixedWindowLimiter(limit, clock),
        ("DELETE", "/devices/{token}"): FixedWindowLimiter(limit, clock),
    }
    app = web.Application(
        middlewares=[error_envelope_middleware, make_rate_limit_middleware(limits, proxies)]
    )
    app.router.add_post("/messages", _ok)
    app.router.add_delete("/devices/{token}", _ok)
    app.router.add_get("/free", _ok)
    return app


async def test_limit_reached_with_headers_and_reset(aiohttp_client: AiohttpClient) -> None:
    clock = ManualClock()
    client = await aiohttp_client(limited_app(3, clock))
    for remaining in (2, 1, 0):
        resp = await client.post("/messages")
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Limit"] == "3"
        assert resp.headers["X-RateLimit-Remaining"] == str(remaining)
        assert int(resp.headers["X-RateLimit-Reset"]) == int(clock.time()) + 60
    clock.advance(15)
    resp = await client.post("/messages")
    body = await resp.json()
    assert resp.status == 429
    assert body["error"] == {"code": "RATE_LIMITED", "message": "Too many requests, please try again later"}
    assert resp.headers["Retry-After"] == "45"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(45)
    assert (await client.post("/messages")).status == 200


async def test_route_template_is_one_bucket_and_routes_do_not_share(
    aiohttp_client: AiohttpClient,
) -> None:
    clock = ManualClock()
    client = await aiohttp_client(limited_app(2, clock))
    assert (await client.delete("/devices/601111111")).status == 200
    assert (await client.delete("/devices/602222222")).status == 200
    # A different token is the same route: it does not buy fresh quota (Go keyed on the raw path).
    assert (await client.delete("/devices/603333333")).status == 429
    assert (await client.post("/messages")).status == 200
    assert (await client.get("/free")).status == 200
    assert "X-RateLimit-Limit" not in (await client.get("/free")).headers


async def test_zero_disables_a_limit(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(limited_app(0, ManualClock()))
    for _ in range(50):
        resp = await client.post("/messages")
        assert resp.status == 200
    assert "X-RateLimit-Limit" not in resp.headers


async def test_forwarded_for_only_from_trusted_proxies(aiohttp_client: AiohttpClient) -> None:
    clock = ManualClock()
    trusted = await aiohttp_client(limited_app(1, clock, proxies=PROXIES))
    assert (await trusted.post("/messages", headers={"X-Forwarded-For": "198.51.100.1"})).status == 200
    # Another client behind the same trusted proxy has its own window.
    assert (await trusted.post("/messages", headers={"X-Forwarded-For": "198.51.100.2"})).status == 200
    assert (await trusted.post("/messages", headers={"X-Forwarded-For": "198.51.100.1"})).status == 429

    untrusted = await aiohttp_client(limited_app(1, clock))
    assert (await untrusted.post("/messages", headers={"X-Forwarded-For": "198.51.100.1"})).status == 200
    # Not a trusted peer: the header is ignored and both requests count against 127.0.0.1.
    assert (await untrusted.post("/messages", headers={"X-Forwarded-For": "198.51.100.9"})).status == 429


def test_client_ip_walks_forwarded_for_from_the_right() -> None:
    assert client_ip("10.0.0.5", "1.2.3.4, 10.0.0.7", PROXIES) == "1.2.3.4"
    # The left-most entry is client-written and forgeable; the first untrusted hop from the right wins.
    assert client_ip("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.7", PROXIES) == "1.2.3.4"
    assert client_ip("203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"
    assert client_ip("10.0.0.5", "garbage", PROXIES) == "10.0.0.5"
    assert client_ip("10.0.0.5", None, PROXIES) == "10.0.0.5"


def test_expired_windows_are_swept() -> None:
    clock = ManualClock()
    limiter = FixedWindowLimiter(5, clock)
    for i in range(10_000):
        limiter.hit(f"10.{i // 250}.{i % 250}.1 POST /messages")
    assert len(limiter) == 10_000
    clock.advance(61)
    limiter.hit("192.0.2.1 POST /messages")
    assert len(limiter) == 1


async def test_failed_auth_is_limited_per_ip(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    clock = ManualClock()
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=3), clock=clock))
    for _ in range(3):
        assert (await client.get("/health/detailed", headers={"X-API-Key": "guess"})).status == 401
    blocked = await client.get("/health/detailed", headers={"X-API-Key": "guess"})
    assert blocked.status == 429 and "Retry-After" in blocked.headers
    # While blocked, even the right key is not checked: a guesser cannot learn that a guess was right.
    assert (await client.get("/health/detailed", headers=AUTH)).status == 429
    assert (await client.get("/health")).status == 200
    clock.advance(60)
    assert (await client.get("/health/detailed", headers=AUTH)).status == 200


async def test_successful_auth_does_not_count(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=2)))
    for _ in range(20):
        assert (await client.get("/health/detailed", headers=AUTH)).status == 200
