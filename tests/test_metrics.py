"""/metrics parses as Prometheus text and moves as the gateway works."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import WsListener, api, gateway, link_device
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"


async def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple], float]:
    resp = await client.get("/metrics", headers=headers or {"X-API-Key": "test-api-key-0123456789"})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_move_with_messages_devices_and_webhooks(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    client, _ = await gateway(
        aiohttp_client, make_settings, WEBHOOK_URL=str(server.make_url("/hook")), RATE_LIMIT_VALIDATE=1
    )
    before = await scrape(client)
    assert before[("wa_gateway_messages_sent_total", ())] == 0
    assert before[("wa_gateway_engine_up", ())] == 1
    assert before[("wa_gateway_devices", (("status", "connected"),))] == 0

    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    for i in range(3):
        status, _ = await api(
            client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": f"{i}"}
        )
        assert status == 200
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": "60198765432", "text": "hi"})
    for _ in range(2):
        await api(client, "POST", "/validate/phone", {"token": TOKEN, "phone": "60198765432"})
    await eventually(lambda: len(receiver.delivered()) >= 3, what="webhooks delivered")

    after = await scrape(client)
    assert after[("wa_gateway_messages_sent_total", ())] == 3
    assert after[("wa_gateway_send_duration_seconds_count", ())] == 3
    assert after[("wa_gateway_send_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert after[("wa_gateway_messages_received_total", ())] == 1
    assert after[("wa_gateway_devices", (("status", "connected"),))] == 1
    assert after[("wa_gateway_ws_clients", ())] == 1
    assert after[("wa_gateway_rate_limited_total", (("route", "/validate/phone"),))] == 1
    assert after[("wa_gateway_events_total", (("event", "device.connected"),))] == 1
    key = ("wa_gateway_http_requests_total", (("method", "POST"), ("route", "/messages"), ("status", "200")))
    assert after[key] == 3
    assert after[("wa_gateway_webhook_attempts_total", (("outcome", "delivered"),))] >= 3
    assert ("wa_gateway_webhooks_pending", ()) in after
    assert after[("wa_gateway_engine_restarts_total", ())] == 0
    await listener.close()


async def test_metrics_auth_and_token(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client, _ = await gateway(
        aiohttp_client, make_settings, METRICS_TOKEN="scrape-token-123", RATE_LIMIT_AUTH_FAILURES=3
    )
    assert (await client.get("/metrics")).status == 401
    assert await scrape(client, Authorization="Bearer scrape-token-123")
    # The metrics token opens /metrics only, not the API.
    assert (await client.get("/devices", headers={"Authorization": "Bearer scrape-token-123"})).status == 401
    # The missing key above was not a guess; these two wrong keys make three failures with the one above.
    assert (await client.get("/metrics", headers={"X-API-Key": "guess"})).status == 401
    assert (await client.get("/metrics", headers={"X-API-Key": "guess"})).status == 401
    assert (await client.get("/metrics", headers={"X-API-Key": "guess"})).status == 429
