"""Devices end to end: real HTTP, real WebSocket, real sandbox engine worker."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, device_status, gateway, link_device

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
QR_RE = re.compile(r"2@[^,]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+")


async def test_qr_flow_to_connected(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    status, body = await api(client, "POST", "/devices", {"token": TOKEN, "method": "qr"})
    assert status == 200
    assert body["message"] == "QR code sent via WebSocket"
    assert body["data"] == {"token": TOKEN, "method": "qr", "status": "pairing"}
    qr = await listener.next("qrcode", TOKEN)
    assert QR_RE.fullmatch(qr["data"])

    status, body = await api(client, "GET", f"/devices/{TOKEN}")
    assert body["data"]["status"] == "pairing" and body["data"]["qr"] == qr["data"]
    png = await client.get(f"/devices/{TOKEN}/qr", headers={"X-API-Key": settings.api_key})
    assert png.status == 200 and png.content_type == "image/png"
    assert (await png.read()).startswith(b"\x89PNG\r\n\x1a\n")
    svg = await client.get(
        f"/devices/{TOKEN}/qr", headers={"X-API-Key": settings.api_key, "Accept": "image/svg+xml"}
    )
    assert svg.content_type == "image/svg+xml" and b"<svg" in await svg.read()

    # A client that connects while the device is pairing gets the current QR at once.
    late = await WsListener.open(client)
    assert (await late.next("qrcode", TOKEN, within=5))["data"] == qr["data"]

    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/link", {"pushName": "Alice"})
    assert status == 200
    assert await listener.next("connection-success", TOKEN) == {"event": "connection-success", "token": TOKEN}
    status, body = await api(client, "GET", f"/devices/{TOKEN}")
    data = body["data"]
    assert data["status"] == "connected" and data["qr"] is None
    assert data["jid"] == f"{TOKEN}@s.whatsapp.net" and data["pushName"] == "Alice"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["connectedAt"])
    status, body = await api(client, "GET", "/devices")
    assert [d["token"] for d in body["data"]["devices"]] == [TOKEN]
    status, body = await api(client, "GET", "/health/detailed")
    health = body["data"]
    assert health["devicesByStatus"]["connected"] == 1 and health["deviceCount"] == 1
    assert health["devices"][0]["status"] == "connected"
    assert health["worker"]["pid"] > 0 and health["worker"]["restarts"] == 0
    assert health["worker"]["uptimeSeconds"] >= 0
    status, body = await api(client, "GET", f"/devices/{TOKEN}/qr")
    assert status == 404 and body["error"]["code"] == "QR_NOT_AVAILABLE"
    status, body = await api(client, "POST", "/devices", {"token": TOKEN})
    assert status == 409 and body["error"]["code"] == "DEVICE_ALREADY_CONNECTED"
    assert (Path(settings.data_dir) / "sessions" / f"{TOKEN}.db").exists()
    await listener.close()
    await late.close()


async def test_qr_codes_refresh_then_expire(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, SANDBOX_QR_REFRESH_MS=40, SANDBOX_QR_CODES=3)
    listener = await WsListener.open(client)
    await api(client, "POST", "/devices", {"token": TOKEN})
    codes = [(await listener.next("qrcode", TOKEN))["data"] for _ in range(3)]
    assert len(set(codes)) == 3
    expired = await listener.next("connection-error", TOKEN)
    assert expired["message"] == "QR code expired"
    assert await device_status(client, TOKEN) == "disconnected"
    status, _body = await api(client, "GET", f"/devices/{TOKEN}/qr")
    assert status == 404
    await listener.close()


async def test_pairing_code_flow(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    status, body = await api(client, "POST", "/devices", {"token": TOKEN, "method": "code"})
    assert status == 200 and body["message"] == "Pairing code sent via WebSocket"
    code = body["data"]["code"]
    assert re.fullmatch(r"[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}", code)
    event = await listener.next("pairing-code", TOKEN)
    assert event["data"] == {"code": code}
    _, body = await api(client, "GET", f"/devices/{TOKEN}")
    assert body["data"]["pairingCode"] == code
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/link")
    await listener.next("connection-success", TOKEN)
    assert await device_status(client, TOKEN) == "connected"
    await listener.close()


BAD_DEVICE_BODIES = [
    (b"{not json", 400, "INVALID_REQUEST", "Invalid request body"),
    (b"[1,2]", 400, "INVALID_REQUEST", "Invalid request body"),
    (b'{"token": 60123456789}', 400, "INVALID_REQUEST", "Invalid request body"),
    (b"{}", 400, "MISSING_TOKEN", "Token (phone number) is required"),
    (b'{"token": ""}', 400, "MISSING_TOKEN", "Token (phone number) is required"),
    (b'{"token": "12345"}', 400, "INVALID_TOKEN", "Token must be a phone number (7-15 digits)"),
    (b'{"token": "+60123456789"}', 400, "INVALID_TOKEN", "Token must be a phone number (7-15 digits)"),
    ('{"token": "٦٠١٢٣٤٥٦٧٨٩"}'.encode(), 400, "INVALID_TOKEN", "Token must be a phone number (7-15 digits)"),
    (b'{"token": "60123456789\\n"}', 400, "INVALID_TOKEN", "Token must be a phone number (7-15 digits)"),
    (b'{"token": "60123456789", "method": "QR"}', 400, "INVALID_METHOD", "Method must be 'qr' or 'code'"),
    (
        b'{"token": "60123456789", "method": "reconnect"}',
        400,
        "INVALID_METHOD",
        "Method must be 'qr' or 'code'",
    ),
]


async def test_device_validation_errors_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    headers = {"X-API-Key": settings.api_key, "Content-Type": "application/json"}
    for raw, status, code, message in BAD_DEVICE_BODIES:
        resp = await client.post("/devices", data=raw, headers=headers)
        body = await resp.json()
        error = body["error"]
        assert (resp.status, error["code"], error["message"]) == (status, code, message), raw
    _, body = await api(client, "GET", "/devices")
    assert body["data"]["devices"] == []
    assert not list((Path(settings.data_dir) / "sessions").glob("*.db"))
    for method, path in [
        ("GET", "/devices/123"),
        ("DELETE", "/devices/abc"),
        ("GET", "/devices/1234567890123456"),
    ]:
        status, body = await api(client, method, path)
        assert (status, body["error"]["code"]) == (400, "INVALID_TOKEN"), path
    for method, path in [
        ("GET", f"/devices/{TOKEN}"),
        ("DELETE", f"/devices/{TOKEN}"),
        ("GET", f"/devices/{TOKEN}/qr"),
    ]:
        status, body = await api(client, method, path)
        assert (status, body["error"]) == (404, {"code": "DEVICE_NOT_FOUND", "message": "Device not found"})


async def test_form_bodies_and_case_insensitive_keys_work(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    resp = await client.post(
        "/devices", data={"token": TOKEN, "method": "code"}, headers={"X-API-Key": settings.api_key}
    )
    assert resp.status == 200 and (await resp.json())["data"]["method"] == "code"
    status, body = await api(client, "DELETE", f"/devices/{TOKEN}")
    assert status == 200
    status, body = await api(client, "POST", "/devices", {"Token": TOKEN, "METHOD": "qr"})
    assert status == 200 and body["data"]["method"] == "qr"
    await api(client, "DELETE", f"/devices/{TOKEN}")
    # What `curl -d '{"token":…}'` sends: JSON labelled as a form.
    resp = await client.post(
        "/devices",
        data=b'{"token": "%s", "method": "code"}' % TOKEN.encode(),
        headers={"X-API-Key": settings.api_key, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 200 and (await resp.json())["data"]["method"] == "code"


async def test_delete_logs_out_and_removes_the_session(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    session = Path(settings.data_dir) / "sessions" / f"{TOKEN}.db"
    assert session.exists()
    status, body = await api(client, "DELETE", f"/devices/{TOKEN}")
    assert status == 200
    assert body["data"] == {"token": TOKEN} and body["message"] == "Device disconnected and logged out"
    event = await listener.next("connection-error", TOKEN)
    assert event["message"] == "Logged out"
    assert not session.exists()
    assert await device_status(client, TOKEN) is None
    status, _ = await api(client, "DELETE", f"/devices/{TOKEN}")
    assert status == 404
    await listener.close()


async def test_concurrent_posts_for_one_token_do_not_race(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, SANDBOX_QR_REFRESH_MS=30, SANDBOX_QR_CODES=100)
    listener = await WsListener.open(client)
    results = await asyncio.gather(
        *(api(client, "POST", "/devices", {"token": TOKEN, "method": "qr"}) for _ in range(5))
    )
    assert all(status == 200 for status, _ in results), results
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/link")
    assert status == 200, body
    await listener.next("connection-success", TOKEN)
    # Replaced QR flows were cancelled: once connected, no QR code for the token arrives any more.
    with pytest.raises(TimeoutError):
        await listener.next("qrcode", TOKEN, within=0.3)
    assert await device_status(client, TOKEN) == "connected"
    await listener.close()


async def test_device_routes_are_rate_limited_per_route(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, RATE_LIMIT_DEVICES=2)
    assert (await api(client, "POST", "/devices", {"token": "123"}))[0] == 400
    assert (await api(client, "POST", "/devices", {"token": "123"}))[0] == 400
    status, body = await api(client, "POST", "/devices", {"token": TOKEN})
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
    assert (await api(client, "GET", "/devices"))[0] == 200
