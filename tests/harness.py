"""Drive the real gateway (app + sandbox engine worker) through HTTP and a WebSocket listener."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.config import Settings

from .conftest import API_KEY, AUTH, SettingsFactory

# Shorter supervisor timers so restarts and hang detection take milliseconds to seconds, not minutes.
FAST_ENGINE = {
    "heartbeat_interval": 0.5,
    "heartbeat_timeout": 3.0,
    "restart_backoff_base": 0.05,
    "restart_backoff_cap": 0.5,
    "request_timeout": 10.0,
}


class WsListener:
    """An authenticated WebSocket client that queues every event it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, client: TestClient, subscribe: dict[str, Any] | None = None) -> WsListener:
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "auth", "apiKey": API_KEY})
        assert (await ws.receive_json(timeout=5))["success"] is True
        if subscribe is not None:
            await ws.send_json({"type": "subscribe", **subscribe})
            assert (await ws.receive_json(timeout=5))["success"] is True
        return cls(ws)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.put_nowait(msg.json())

    async def next(
        self,
        event: str,
        token: str | None = None,
        within: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
    ) -> dict[str, Any]:
        """The next matching event; non-matching ones are skipped."""
        async with asyncio.timeout(within):
            while True:
                item = await self.events.get()
                if item.get("event") == event and token in (None, item.get("token")) and where(item):
                    return item

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


async def api(client: TestClient, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    resp = await client.request(method, path, json=body, headers=headers, **kwargs)
    return resp.status, await resp.json()


async def wait_for(
    check: Callable[[], Any], within: float = 10.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll an async check until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


async def device_status(client: TestClient, token: str) -> str | None:
    status, body = await api(client, "GET", f"/devices/{token}")
    return body["data"]["status"] if status == 200 else None


async def link_device(
    client: TestClient, token: str, listener: WsListener, push_name: str = "Tester"
) -> None:
    """Pair ``token`` through the sandbox, as a user scanning the QR code would."""
    status, body = await api(client, "POST", "/devices", {"token": token, "method": "qr"})
    assert status == 200, body
    await listener.next("qrcode", token)
    status, body = await api(client, "POST", f"/sandbox/devices/{token}/link", {"pushName": push_name})
    assert status == 200, body
    await listener.next("connection-success", token)


async def gateway(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, **env: Any
) -> tuple[TestClient, Settings]:
    """The whole gateway on 127.0.0.1 with the sandbox engine; no typing delay and no rate limits
    unless a test asks for them."""
    env.setdefault("TYPING_DELAY_MS", 0)
    for limit in ("RATE_LIMIT_DEVICES", "RATE_LIMIT_MESSAGES", "RATE_LIMIT_VALIDATE"):
        env.setdefault(limit, 0)
    settings = make_settings(**env)
    client = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    return client, settings
