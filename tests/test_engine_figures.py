"""What the engine worker reports with its heartbeat reaches /health/detailed and /metrics: devices that
are reconnecting (attempts, next try, last error), and the watchdog's count (docs/health.md)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.engine.worker_stats import StatsTotals

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, link_device, wait_for
from .test_metrics import scrape

pytestmark = pytest.mark.slow

TOKEN = "60123456789"


async def health_device(client: TestClient) -> dict[str, Any]:
    status, body = await api(client, "GET", "/health/detailed")
    assert status == 200, body
    (device,) = body["data"]["devices"]
    return dict(device)


async def test_a_reconnecting_device_shows_its_attempts_in_health_and_metrics(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    # Long enough that the device is still waiting when the figures are read.
    settings = make_settings(SANDBOX_RECONNECT_MS=600_000)
    client = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    linked = await health_device(client)
    assert linked["reconnect"] is None and linked["historySyncProgress"] is None

    status, _ = await api(client, "POST", f"/sandbox/devices/{TOKEN}/disconnect")
    assert status == 200

    async def reconnecting() -> dict[str, Any] | None:
        reconnect: dict[str, Any] | None = (await health_device(client))["reconnect"]
        return reconnect

    reconnect = await wait_for(reconnecting, what="the reconnect in /health/detailed")
    assert reconnect["attempts"] == 1
    assert reconnect["lastError"] == "network connection lost (sandbox)"
    assert reconnect["nextAttemptAt"] is not None
    samples = await scrape(client)
    assert samples[("wa_gateway_device_reconnect_attempts", (("token", TOKEN),))] == 1
    next_try = samples[("wa_gateway_device_next_reconnect_timestamp_seconds", (("token", TOKEN),))]
    assert next_try > 1_700_000_000
    assert samples[("wa_gateway_engine_stuck_threads", ())] == 0

    # Connecting by hand ends the wait; the figures follow.
    status, body = await api(client, "POST", "/devices", {"token": TOKEN})
    assert status == 200, body

    async def settled() -> bool:
        return (await health_device(client))["reconnect"] is None

    await wait_for(settled, what="the reconnect to leave /health/detailed")
    samples = await scrape(client)
    assert ("wa_gateway_device_reconnect_attempts", (("token", TOKEN),)) not in samples


async def test_watchdog_reconnects_are_counted(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    settings = make_settings(SANDBOX_RECONNECT_MS=10)
    app = create_app(settings, engine_options=FAST_ENGINE, worker_overrides={"watchdog_s": 0.2})
    client = await aiohttp_client(app)
    listener = await WsListener.open(client, subscribe={"events": ["*"]})
    await link_device(client, TOKEN, listener)
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/stall")
    await listener.next("device.reconnecting", TOKEN)

    async def counted() -> bool:
        samples = await scrape(client)
        return samples[("wa_gateway_engine_watchdog_reconnects_total", ())] == 1

    await wait_for(counted, what="the watchdog reconnect in /metrics")
    status, body = await api(client, "GET", "/health/detailed")
    assert status == 200 and body["data"]["worker"]["watchdogReconnects"] == 1


def test_counters_of_earlier_workers_are_kept() -> None:
    totals = StatsTotals()
    totals.update({"watchdogReconnects": 2, "lostEventSessions": 1, "stuckThreads": 3})
    totals.worker_ended()
    assert totals.stuck_threads == 0  # threads die with their process
    totals.update({"watchdogReconnects": 1, "devices": {TOKEN: {"attempts": 4}}, "firstSync": {TOKEN: 40}})
    assert totals.counter("watchdogReconnects") == 3
    assert totals.counter("lostEventSessions") == 1
    assert totals.reconnecting() == {TOKEN: {"attempts": 4}}
    assert totals.first_sync() == {TOKEN: 40}
    totals.update("not a dict")  # a malformed pong changes nothing
    assert totals.counter("watchdogReconnects") == 3
