"""Device state under races: a POST queued behind a DELETE, and worker deaths during bursts of events."""

from __future__ import annotations

import asyncio
import functools
import os
import signal

import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway import keys
from wa_gateway.app import create_app
from wa_gateway.engine.worker import TEST_CMD_BLOCK_LOOP

from .conftest import SettingsFactory
from .harness import FAST_ENGINE, WsListener, api, device_status, gateway, link_device, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
PEER = "60198765432"


async def _worker(client) -> dict:
    status, body = await api(client, "GET", "/health/detailed")
    assert status == 200
    return body["data"]["worker"]


def _pending_at_least(client, n: int):
    async def check() -> bool:
        return (await _worker(client))["pendingRequests"] >= n

    return check


async def test_a_post_that_waited_behind_a_delete_really_pairs(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    settings = make_settings(TYPING_DELAY_MS=0, RATE_LIMIT_DEVICES=0)
    app = create_app(settings, engine_options=FAST_ENGINE, worker_overrides={"test_hooks": True})
    client = await aiohttp_client(app)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    # A worker busy for a moment keeps the DELETE inside its device lock long enough for the POST to
    # queue behind it, which is the race users hit.
    busy = asyncio.create_task(app[keys.ENGINE_KEY].request(TEST_CMD_BLOCK_LOOP, {"seconds": 1.0}, 10))
    await wait_for(_pending_at_least(client, 1), what="the worker busy")
    delete = asyncio.create_task(api(client, "DELETE", f"/devices/{TOKEN}"))
    await wait_for(_pending_at_least(client, 2), what="the DELETE's logout in the worker")
    post = asyncio.create_task(api(client, "POST", "/devices", {"token": TOKEN, "method": "qr"}))
    assert (await delete)[0] == 200
    status, body = await post
    assert status == 200, body
    assert body["data"]["status"] == "pairing"
    status, body = await api(client, "GET", f"/devices/{TOKEN}")
    assert status == 200, body
    assert body["data"]["status"] == "pairing"
    await listener.next("qrcode", TOKEN, within=10)
    await busy
    await listener.close()


async def test_every_paired_device_comes_back_after_repeated_worker_kills_during_bursts(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    for round_ in range(3):
        pid = (await _worker(client))["pid"]
        burst = [
            asyncio.create_task(
                api(
                    client,
                    "POST",
                    f"/sandbox/devices/{TOKEN}/messages",
                    {"from": PEER, "text": f"{round_}-{i}"},
                )
            )
            for i in range(40)
        ]
        os.kill(pid, signal.SIGKILL)
        await asyncio.gather(*burst)
        await wait_for(functools.partial(_restarted, client, pid), within=20, what="a new worker")
        await wait_for(lambda: _connected(client), within=20, what=f"the device back after kill {round_ + 1}")
    await listener.close()


async def _restarted(client, old_pid: int) -> bool:
    worker = await _worker(client)
    return worker["pid"] not in (None, old_pid)


async def _connected(client) -> bool:
    return await device_status(client, TOKEN) == "connected"
