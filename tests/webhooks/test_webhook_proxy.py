"""HTTP(S)_PROXY and NO_PROXY are honoured for webhook deliveries, looked up once."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from wa_gateway.webhooks import WebhookOutbox
from wa_gateway.webhooks.dispatcher import _proxy_for

from .webhook_harness import eventually

TARGET = "http://hooks.example.invalid/hook"


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_proxy_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _proxy_for(TARGET) is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.local:3128")
    assert _proxy_for(TARGET) == "http://proxy.local:3128"
    assert _proxy_for("https://hooks.example.invalid/hook") is None
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    assert _proxy_for(TARGET) is None


async def test_deliveries_go_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
    aiohttp_server: AiohttpServer,
    outbox: WebhookOutbox,
    make_dispatcher: Any,
) -> None:
    seen: list[tuple[str, str]] = []

    async def forward_proxy(request: web.Request) -> web.Response:
        # A forward proxy receives the absolute URI of the real destination.
        seen.append((request.method, str(request.url)))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward_proxy)
    proxy = await aiohttp_server(app)
    monkeypatch.setenv("HTTP_PROXY", str(proxy.make_url("")))
    await make_dispatcher(url=TARGET)
    await outbox.enqueue("device.connected", "60123456789", {"jid": None})
    await eventually(lambda: seen, what="a delivery through the proxy")
    assert seen == [("POST", TARGET)]
