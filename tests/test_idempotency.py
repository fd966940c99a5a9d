"""Idempotency-Key on sending routes: a repeat returns the first response and sends nothing again."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, device_status, gateway, link_device, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
MESSAGE = {"token": TOKEN, "to": "60198765432", "text": "once only"}


async def send(client: TestClient, key: str, body: dict[str, Any] = MESSAGE) -> tuple[int, Any]:
    return await api(client, "POST", "/messages", body, headers={"Idempotency-Key": key})


async def sent_texts(client: TestClient) -> list[str]:
    status, body = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert status == 200, body
    log = orjson.dumps(body["data"]).decode()
    return [text for text in ("once only", "other text", "slow") if f'"{text}"' in log] + [
        str(log.count('"once only"'))
    ]


async def linked(aiohttp_client: AiohttpClient, make_settings: SettingsFactory, **env: Any) -> Any:
    client, settings = await gateway(aiohttp_client, make_settings, **env)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    await listener.close()
    return client, settings


async def test_repeat_returns_the_first_response_and_sends_once_also_after_a_restart(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await linked(aiohttp_client, make_settings)
    first = await send(client, "order-1")
    assert first[0] == 200, first
    again = await send(client, "order-1")
    assert again == first
    assert await sent_texts(client) == ["once only", "1"]
    await client.close()

    restarted = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))

    async def back() -> bool:
        return await device_status(restarted, TOKEN) == "connected"

    await wait_for(back, within=20, what="the device restored")
    assert await send(restarted, "order-1") == first
    assert await sent_texts(restarted) == ["once only", "1"]
    # Another key is another message.
    assert (await send(restarted, "order-2"))[0] == 200
    assert await sent_texts(restarted) == ["once only", "2"]


async def test_same_key_with_another_body_is_refused_and_sends_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await linked(aiohttp_client, make_settings)
    assert (await send(client, "k"))[0] == 200
    status, body = await send(client, "k", {**MESSAGE, "text": "other text"})
    assert (status, body["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    status, body = await send(client, "x" * 256)
    assert (status, body["error"]["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")
    assert await sent_texts(client) == ["once only", "1"]


async def test_repeat_while_the_first_runs_is_409(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await linked(aiohttp_client, make_settings, TYPING_DELAY_MS=400)
    slow = {**MESSAGE, "text": "slow"}
    first = asyncio.create_task(send(client, "slow-1", slow))

    async def running() -> bool:
        status, _ = await api(client, "GET", "/health/detailed")
        return status == 200 and not first.done()

    await wait_for(running, what="the first request in flight")
    status, body = await send(client, "slow-1", slow)
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_IN_PROGRESS")
    assert (await first)[0] == 200
    assert await sent_texts(client) == ["slow", "0"]
