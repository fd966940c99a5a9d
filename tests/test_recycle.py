"""Recycling the engine worker once engine threads pile up: an orderly restart at a quiet moment; what it
accepted is answered, every session resumes, and /health/detailed, /metrics and the log say so."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway import keys
from wa_gateway.app import create_app
from wa_gateway.worker.main import TEST_CMD_STUCK_THREADS

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, device_status, link_device, wait_for
from .test_metrics import scrape

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
THRESHOLD = 2


async def worker(client: TestClient) -> dict[str, Any]:
    status, body = await api(client, "GET", "/health/detailed")
    assert status == 200, body
    info: dict[str, Any] = body["data"]["worker"]
    return info


async def test_stuck_threads_past_the_threshold_recycle_the_worker_in_order(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "wa_gateway.engine")
    settings = make_settings(TYPING_DELAY_MS=1_000, ENGINE_RECYCLE_STUCK_THREADS=THRESHOLD)
    app = create_app(settings, engine_options=FAST_ENGINE, worker_overrides={"test_hooks": True})
    client = await aiohttp_client(app)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    first = await worker(client)
    assert (first["recycles"], first["stuckThreads"], first["recycleStuckThreads"]) == (0, 0, THRESHOLD)

    send = asyncio.create_task(
        api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "in flight"})
    )
    supervisor = client.app[keys.ENGINE_KEY]
    await wait_for(lambda: _true(supervisor.info()["pendingRequests"] == 1), what="the send in flight")
    await supervisor.request(TEST_CMD_STUCK_THREADS, {"count": THRESHOLD})

    # The send the worker had accepted is answered, not lost: the recycle waited for it.
    status, body = await send
    assert status == 200, body

    async def recycled() -> dict[str, Any] | None:
        info = await worker(client)
        done = info["recycles"] == 1 and info["state"] == "up" and info["pid"] != first["pid"]
        return info if done else None

    second = await wait_for(recycled, within=20, what="the recycled worker")
    assert second["pid"] != first["pid"] and second["stuckThreads"] == 0
    assert second["restarts"] == 1
    await listener.next("connection-success", TOKEN, within=20)  # the session resumed by itself
    assert await device_status(client, TOKEN) == "connected"
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": "x"})
    assert status == 200, body
    assert (await scrape(client))[("wa_gateway_engine_recycles_total", ())] == 1
    assert any(
        f"recycling engine worker {first['pid']}: {THRESHOLD} engine threads could not be stopped"
        in r.message
        for r in caplog.records
    )


async def _true(value: bool) -> bool:
    return value
