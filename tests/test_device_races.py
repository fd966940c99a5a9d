"""Worker deaths during bursts of events: every paired device comes back, every time."""

from __future__ import annotations

import asyncio
import functools
import os
import signal

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, device_status, gateway, link_device, wait_for

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
