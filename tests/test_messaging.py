"""Sending with typing, many devices at once, number validation and its cache, end to end."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, gateway, link_device

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


async def sent_log(client, token: str) -> dict:
    status, body = await api(client, "GET", f"/sandbox/devices/{token}/sent")
    assert status == 200, body
    return body["data"]


async def test_send_with_typing_presence(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=300)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    status, body = await api(
        client, "POST", "/messages", {"token": TOKEN, "to": "0198765432", "text": "hello"}
    )
    assert status == 200, body
    assert body["message"] == "Message sent"
    assert re.fullmatch(r"3EB0[0-9A-F]{18}", body["data"]["messageId"])
    assert TIMESTAMP_RE.fullmatch(body["data"]["timestamp"])
    log = await sent_log(client, TOKEN)
    (message,) = log["messages"]
    assert (message["id"], message["to"], message["text"]) == (
        body["data"]["messageId"],
        "60198765432@s.whatsapp.net",
        "hello",
    )
    assert message["presence"] == ["composing", "paused"]
    times = [datetime.fromisoformat(at) for at in message["presenceAt"]]
    # The engine really waited TYPING_DELAY_MS between composing and paused, and sent after paused.
    assert (times[1] - times[0]).total_seconds() >= 0.3
    assert datetime.fromisoformat(message["timestamp"]) >= times[1]
    await listener.close()


async def test_ten_devices_send_at_once_without_delaying_each_other(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=500)
    listener = await WsListener.open(client)
    tokens = [f"6012345678{i}" for i in range(10)]
    for token in tokens:
        await link_device(client, token, listener)
    sends = [
        asyncio.create_task(api(client, "POST", "/messages", {"token": t, "to": "60198765432", "text": t}))
        for t in tokens
    ]
    # While every device is "typing", other routes answer at once.
    started = time.monotonic()
    status, _ = await api(client, "GET", "/health")
    assert status == 200 and time.monotonic() - started < 0.5
    results = await asyncio.gather(*sends)
    assert all(status == 200 for status, _ in results), results
    windows = []
    for token in tokens:
        (message,) = (await sent_log(client, token))["messages"]
        composing, paused = (datetime.fromisoformat(at) for at in message["presenceAt"])
        windows.append((composing, paused))
    # Every device started typing before any device finished: the delays ran concurrently.
    assert max(start for start, _ in windows) < min(end for _, end in windows)
    await listener.close()


async def test_message_validation_errors(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _settings = await gateway(aiohttp_client, make_settings)
    cases = [
        ({}, 400, "MISSING_TOKEN", "Token is required"),
        ({"token": "abc", "to": "60198765432", "text": "x"}, 400, "INVALID_TOKEN", None),
        (
            {"token": TOKEN, "to": "60198765432", "text": ""},
            400,
            "INVALID_MESSAGE",
            "Message text cannot be empty",
        ),
        ({"token": TOKEN, "to": "60198765432", "text": " \n\t\u00a0\u3000"}, 400, "INVALID_MESSAGE", None),
        # Text is checked before the recipient, as the Go gateway does.
        ({"token": TOKEN, "to": "bogus", "text": ""}, 400, "INVALID_MESSAGE", None),
        ({"token": TOKEN, "to": "12345", "text": "hi"}, 400, "INVALID_PHONE", "Invalid phone number"),
        ({"token": TOKEN, "to": "6512345678", "text": "hi"}, 400, "INVALID_PHONE", None),
        ({"token": TOKEN, "to": "٠١٩٨٧٦٥٤٣٢", "text": "hi"}, 400, "INVALID_PHONE", None),
        ({"token": TOKEN, "to": "60198765432", "text": 5}, 400, "INVALID_REQUEST", "Invalid request body"),
        ({"token": TOKEN, "to": "60198765432", "text": "x" * 65537}, 400, "INVALID_MESSAGE", None),
        (
            {"token": TOKEN, "to": "+60 19-876 5432", "text": "hi"},
            404,
            "DEVICE_NOT_FOUND",
            "Device not found",
        ),
    ]
    for body_in, status, code, message in cases:
        status_out, body = await api(client, "POST", "/messages", body_in)
        assert (status_out, body["error"]["code"]) == (status, code), body_in
        if message:
            assert body["error"]["message"] == message
    await api(client, "POST", "/devices", {"token": TOKEN})
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "hi"})
    assert (status, body["error"]) == (
        409,
        {"code": "DEVICE_NOT_CONNECTED", "message": "Device not connected"},
    )


async def test_validate_phone_with_per_device_cache(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    other = "60111111111"
    await link_device(client, TOKEN, listener)
    await link_device(client, other, listener)
    status, _ = await api(client, "PUT", "/sandbox/numbers/60155555555", {"registered": False})
    assert status == 200

    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "0198765432"})
    assert status == 200 and body["message"] == "Phone validation result"
    assert body["data"] == {
        "phone": "60198765432",
        "isOnWhatsApp": True,
        "jid": "60198765432@s.whatsapp.net",
        "cached": False,
    }
    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60198765432"})
    assert body["message"] == "Phone validation result (cached)" and body["data"]["cached"] is True
    # Negative answers are cached too.
    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60155555555"})
    assert body["data"]["isOnWhatsApp"] is False and body["data"]["cached"] is False
    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60155555555"})
    assert body["data"]["isOnWhatsApp"] is False and body["data"]["cached"] is True
    # The cache is per device: another device asks WhatsApp itself.
    status, body = await api(client, "POST", "/validate/phone", {"token": other, "phone": "60198765432"})
    assert body["data"]["cached"] is False
    # An unknown device never learns a cached answer.
    status, body = await api(
        client, "POST", "/validate/phone", {"token": "60999999999", "phone": "60198765432"}
    )
    assert status == 404 and body["error"]["code"] == "DEVICE_NOT_FOUND"
    status, body = await api(client, "DELETE", "/cache")
    assert status == 200 and body == {**body, "message": "Cache cleared", "data": {"cleared": 3}}
    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60198765432"})
    assert body["data"]["cached"] is False
    await listener.close()


async def test_validate_phone_errors(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    cases = [
        ({"phone": "60198765432"}, 400, "MISSING_TOKEN"),
        ({"token": "6012345678901234", "phone": "60198765432"}, 400, "INVALID_TOKEN"),
        ({"token": TOKEN, "phone": ""}, 400, "INVALID_PHONE"),
        ({"token": TOKEN, "phone": ["60198765432"]}, 400, "INVALID_REQUEST"),
        ({"token": TOKEN, "phone": "60198765432"}, 404, "DEVICE_NOT_FOUND"),
    ]
    for body_in, status, code in cases:
        status_out, body = await api(client, "POST", "/validate/phone", body_in)
        assert (status_out, body["error"]["code"]) == (status, code), body_in
    await api(client, "POST", "/devices", {"token": TOKEN})
    status, body = await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60198765432"})
    assert status == 409 and body["error"]["code"] == "DEVICE_NOT_CONNECTED"


async def test_message_routes_are_rate_limited(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, RATE_LIMIT_MESSAGES=2, RATE_LIMIT_VALIDATE=1)
    for _ in range(2):
        assert (await api(client, "POST", "/messages", {}))[0] == 400
    status, _ = await api(client, "POST", "/messages", {})
    assert status == 429
    assert (await api(client, "POST", "/validate/phone", {}))[0] == 400
    assert (await api(client, "POST", "/validate/phone", {}))[0] == 429
