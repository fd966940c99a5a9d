"""What counts toward the per-IP failed-auth limit, through the real app on 127.0.0.1."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app

from .conftest import AUTH, SettingsFactory


async def _raw_get(client: TestClient, path: str, header: bytes) -> tuple[int, dict]:
    """A GET with one header line sent as raw bytes (aiohttp's client only sends valid text)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(
            b"GET "
            + path.encode()
            + b" HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
            + header
            + b"\r\n\r\n"
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


async def test_favicon_is_public_and_never_a_failed_login(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=2)))
    for _ in range(5):
        resp = await client.get("/favicon.ico")
        assert resp.status == 200 and resp.content_type == "image/x-icon"
        assert (await resp.read())[:4] == b"\x00\x00\x01\x00"
    assert (await client.get("/devices", headers=AUTH)).status == 200


async def test_a_missing_key_is_401_but_not_a_guess(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=2)))
    for _ in range(5):
        resp = await client.get("/devices")
        assert resp.status == 401 and (await resp.json())["error"]["message"] == "Missing API key"
    assert (await client.get("/devices", headers=AUTH)).status == 200
    # Wrong keys are guesses: the third one in the window is refused before any comparison.
    for _ in range(2):
        assert (await client.get("/devices", headers={"X-API-Key": "wrong"})).status == 401
    assert (await client.get("/devices", headers=AUTH)).status == 429


async def test_non_utf8_keys_are_401_and_counted(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_AUTH_FAILURES=2)))
    for header in (b"X-API-Key: \xff\xfekey", b"Authorization: Bearer \xc3(\xa0"):
        status, body = await _raw_get(client, "/devices", header)
        assert status == 401 and body["error"] == {"code": "UNAUTHORIZED", "message": "Invalid API key"}
    status, body = await _raw_get(client, "/devices", b"X-API-Key: \xff")
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
