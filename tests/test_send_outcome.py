"""A send the worker had when it died is answered 503 SEND_OUTCOME_UNKNOWN, never 409 (real worker)."""

from __future__ import annotations

import asyncio
import os
import signal

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import WsListener, api, device_status, gateway, link_device, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
BURST = 40
KILL_AFTER = 5


async def test_worker_killed_during_a_send_burst_never_answers_409_for_a_sent_message(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    status, body = await api(client, "GET", "/health/detailed")
    pid = body["data"]["worker"]["pid"]
    answers: dict[str, tuple[int, str | None]] = {}
    ok = 0
    killed = False
    gate = asyncio.Semaphore(4)

    async def send(i: int) -> None:
        nonlocal ok, killed
        text = f"burst-{i}"
        async with gate:
            status, body = await api(
                client, "POST", "/messages", {"token": TOKEN, "to": "60198765432", "text": text}
            )
            answers[text] = (status, None if status == 200 else body["error"]["code"])
        ok += status == 200
        if ok >= KILL_AFTER and not killed:
            killed = True
            os.kill(pid, signal.SIGKILL)

    await asyncio.gather(*(send(i) for i in range(BURST)))
    assert killed

    async def back() -> bool:
        return await device_status(client, TOKEN) == "connected"

    await wait_for(back, within=20, what="the device back")
    status, body = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert status == 200, body
    log = orjson.dumps(body["data"]).decode()
    refused = [text for text, (status, _) in answers.items() if status == 409]
    assert all(f'"{text}"' not in log for text in refused)
    for text, (status, code) in answers.items():
        if status == 200:
            assert f'"{text}"' in log
        else:
            assert (status, code) in ((409, "DEVICE_NOT_CONNECTED"), (503, "SEND_OUTCOME_UNKNOWN")), (
                status,
                code,
            )
    await listener.close()
