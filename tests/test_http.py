"""Auth, the envelope on every status, request ids and CORS, through the real app on 127.0.0.1."""

from __future__ import annotations

import re
import uuid

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app

from .conftest import API_KEY, AUTH, SettingsFactory

TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def assert_envelope(body: dict, *, success: bool) -> None:
    assert body["success"] is success
    assert TIMESTAMP_RE.fullmatch(body["meta"]["timestamp"])
    assert uuid.UUID(body["meta"]["requestId"]) or body["meta"]["requestId"]


async def test_health_needs_no_auth_and_reports_the_engine(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 200 and resp.content_type == "application/json"
    assert_envelope(body, success=True)
    assert body["message"] == "ok"
    assert body["data"]["engine"] == "sandbox"
    head = await client.head("/health")
    assert head.status == 200


async def test_detailed_health_requires_auth_and_has_process_figures(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    assert (await client.get("/health/detailed")).status == 401
    resp = await client.get("/health/detailed", headers=AUTH)
    data = (await resp.json())["data"]
    assert resp.status == 200
    assert data["memoryRss"] > 1_000_000 and data["threads"] >= 1
    assert data["uptimeSeconds"] >= 0 and re.fullmatch(r"(\d+[dhm])*\d+s", data["uptime"])
    assert data["engine"] == "sandbox" and isinstance(data["devices"], list)
    assert set(data["devicesByStatus"]) >= {"connected", "disconnected", "pairing"}


async def test_auth_paths(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=0)))
    cases = [
        ({}, 401, "Missing API key"),
        ({"Authorization": "Bearer wrong"}, 401, "Invalid API key"),
        ({"X-API-Key": "wrong"}, 401, "Invalid API key"),
        ({"X-API-Key": API_KEY.upper()}, 401, "Invalid API key"),
        ({"X-API-Key": API_KEY + "0"}, 401, "Invalid API key"),
        ({"X-API-Key": API_KEY[:-1]}, 401, "Invalid API key"),
        # Bearer wins even when empty or wrong: X-API-Key is then not consulted (Go §3.5).
        ({"Authorization": "Bearer ", "X-API-Key": API_KEY}, 401, "Missing API key"),
        ({"Authorization": "Bearer wrong", "X-API-Key": API_KEY}, 401, "Invalid API key"),
        # A lower-case scheme is not Bearer, so X-API-Key is used.
        ({"Authorization": f"bearer {API_KEY}", "X-API-Key": API_KEY}, 200, None),
        ({"Authorization": f"Bearer {API_KEY}"}, 200, None),
        ({"X-API-Key": API_KEY}, 200, None),
    ]
    for headers, status, message in cases:
        resp = await client.get("/health/detailed", headers=headers)
        body = await resp.json()
        assert resp.status == status, headers
        assert_envelope(body, success=status == 200)
        if message:
            assert body["error"] == {"code": "UNAUTHORIZED", "message": message}
    resp = await client.get(f"/health/detailed?apiKey={API_KEY}")
    assert resp.status == 401


async def test_unknown_route_needs_auth_then_is_404_in_the_envelope(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    assert (await client.get("/nope")).status == 401
    resp = await client.get("/nope", headers=AUTH)
    body = await resp.json()
    assert resp.status == 404
    assert_envelope(body, success=False)
    assert body["error"] == {"code": "NOT_FOUND", "message": "Route not found"}


async def test_wrong_method_is_405_with_allow(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    assert (await client.post("/health")).status == 401
    resp = await client.post("/health", headers=AUTH)
    body = await resp.json()
    assert resp.status == 405
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]
    assert_envelope(body, success=False)


async def test_body_too_large_is_413(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(MAX_BODY_BYTES=1024))

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"n": len(await request.read())})

    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    assert (await client.post("/echo", data=b"x" * 1000, headers=AUTH)).status == 200
    resp = await client.post("/echo", data=b"x" * 5000, headers=AUTH)
    body = await resp.json()
    assert resp.status == 413
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert_envelope(body, success=False)


async def test_unexpected_error_is_500_without_details(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, caplog
) -> None:
    app = create_app(make_settings())

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/boom", headers={**AUTH, "X-Request-Id": "trace-42"})
    text = await resp.text()
    body = await resp.json()
    assert resp.status == 500
    assert body["error"] == {"code": "INTERNAL_ERROR", "message": "Internal server error"}
    assert "secret internal detail" not in text
    assert body["meta"]["requestId"] == "trace-42"
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_request_id_is_echoed_when_sane_and_minted_otherwise(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    assert (await resp.json())["meta"]["requestId"] == "abc-123"
    resp = await client.get("/health", headers={"X-Request-Id": "bad id\twith spaces"})
    minted = resp.headers["X-Request-Id"]
    assert uuid.UUID(minted).version == 4
    assert (await resp.json())["meta"]["requestId"] == minted
    other = await client.get("/health")
    assert other.headers["X-Request-Id"] != minted


async def test_access_log_line(aiohttp_client: AiohttpClient, make_settings: SettingsFactory, caplog) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    caplog.set_level("INFO", logger="wa_gateway.access")
    await client.get("/nope", headers={**AUTH, "X-Request-Id": "rid-1"})
    lines = [r for r in caplog.records if r.name == "wa_gateway.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.route, line.status, line.requestId, line.ip) == (
        "GET",
        "<unmatched>",
        404,
        "rid-1",
        "127.0.0.1",
    )
    assert line.durationMs >= 0
    assert API_KEY not in caplog.text
    # A healthy /health answer is logged at debug only: probes would drown everything else.
    await client.get("/health")
    assert [r.route for r in caplog.records if r.name == "wa_gateway.access"] == ["<unmatched>"]
    await client.get("/health/detailed", headers=AUTH)
    assert [r.route for r in caplog.records if r.name == "wa_gateway.access"][-1] == "/health/detailed"


async def test_cors_preflight_is_204_without_auth(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(CORS_ORIGINS="https://app.example.com")))
    resp = await client.options(
        "/messages",
        headers={"Origin": "https://APP.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert "X-API-Key" in resp.headers["Access-Control-Allow-Headers"]
    denied = await client.options(
        "/messages", headers={"Origin": "https://evil.com", "Access-Control-Request-Method": "POST"}
    )
    assert denied.status == 204 and "Access-Control-Allow-Origin" not in denied.headers
    # Not a preflight (no Access-Control-Request-Method): it goes through auth like any request.
    plain = await client.options("/messages", headers={"Origin": "https://app.example.com"})
    assert plain.status == 401


async def test_cors_simple_requests(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client = await aiohttp_client(
        create_app(make_settings(CORS_ORIGINS="https://app.example.com,https://*.corp.example"))
    )
    allowed = await client.get("/health", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Request-Id" in allowed.headers["Access-Control-Expose-Headers"]
    assert allowed.headers["Vary"] == "Origin"
    sub = await client.get("/health", headers={"Origin": "https://team.corp.example"})
    assert sub.headers["Access-Control-Allow-Origin"] == "https://team.corp.example"
    denied = await client.get("/health", headers={"Origin": "https://evil.com"})
    assert denied.status == 200 and "Access-Control-Allow-Origin" not in denied.headers
    error = await client.get("/health/detailed", headers={"Origin": "https://app.example.com"})
    assert error.status == 401
    assert error.headers["Access-Control-Allow-Origin"] == "https://app.example.com"

    wildcard = await aiohttp_client(create_app(make_settings()))
    resp = await wildcard.get("/health", headers={"Origin": "https://anything.test"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
