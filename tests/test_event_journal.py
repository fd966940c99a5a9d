"""kill -9 during a burst of incoming messages loses nothing the sandbox accepted (docs/durability.md).

Real processes: the gateway, its engine worker and a webhook receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from .conftest import API_KEY
from .processes import api_call as call
from .processes import sandbox_settings, start_gateway, stop, wait_healthy
from .webhooks.webhook_harness import MODE_OK, Receiver, eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
BURST = 24
KILL_AFTER = 8
ROUNDS = 2


async def incoming(session: aiohttp.ClientSession, port: int, text: str) -> bool:
    """One message from a peer; True only if the sandbox answered 200 (it was accepted)."""
    try:
        async with session.post(
            f"http://127.0.0.1:{port}/sandbox/devices/{TOKEN}/messages",
            json={"from": "60198765432", "text": text},
            headers={"X-API-Key": API_KEY},
        ) as resp:
            return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def worker_pid(session: aiohttp.ClientSession, port: int) -> int:
    data = await call(session, port, "GET", "/health/detailed")
    return int(data["worker"]["pid"])


async def connected(session: aiohttp.ClientSession, port: int) -> bool:
    try:
        return (await call(session, port, "GET", f"/devices/{TOKEN}"))["status"] == "connected"
    except (aiohttp.ClientError, AssertionError):
        return False


async def burst_with_kill(session: aiohttp.ClientSession, port: int, round_no: int, kill: Any) -> list[str]:
    """Sends BURST messages, a few at a time, killing after KILL_AFTER were accepted; returns those."""
    accepted: list[str] = []
    killed = asyncio.Event()

    async def one(i: int) -> None:
        text = f"r{round_no}-m{i}"
        if await incoming(session, port, text):
            accepted.append(text)
            if len(accepted) >= KILL_AFTER and not killed.is_set():
                killed.set()
                await kill()

    gate = asyncio.Semaphore(4)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(gated(i) for i in range(BURST)))
    assert killed.is_set(), "the kill happened during the burst"
    return accepted


def delivered_texts(receiver: Receiver) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for request in receiver.delivered():
        payload = request.payload
        if payload["event"] == "message.received":
            ids[payload["data"]["text"]].add(payload["id"])
    return ids


@pytest.mark.parametrize("victim", ["gateway", "worker", "both"])
async def test_kill_9_during_incoming_burst_loses_no_accepted_message(
    victim: str, tmp_path: Path, unused_tcp_port: int, aiohttp_server: AiohttpServer
) -> None:
    receiver = Receiver(default_mode=MODE_OK)
    server = await aiohttp_server(receiver.app())
    port = unused_tcp_port
    env = sandbox_settings(tmp_path, port, WEBHOOK_URL=str(server.make_url("/hook")))
    gateways: list[subprocess.Popen[bytes]] = [start_gateway(env, tmp_path)]
    accepted: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, gateways[-1])
            await call(session, port, "POST", "/devices", {"token": TOKEN})
            await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/link")
            for round_no in range(ROUNDS):
                await eventually(lambda: connected(session, port), within_s=20, what="device connected")
                pid = await worker_pid(session, port)
                current = gateways[-1]

                async def kill(current: subprocess.Popen[bytes] = current, pid: int = pid) -> None:
                    if victim == "worker":
                        os.kill(pid, signal.SIGKILL)
                    elif victim == "gateway":
                        os.kill(current.pid, signal.SIGKILL)
                    else:
                        os.killpg(current.pid, signal.SIGKILL)

                accepted += await burst_with_kill(session, port, round_no, kill)
                if victim != "worker":
                    await asyncio.to_thread(current.wait, 10)
                    gateways.append(start_gateway(env, tmp_path))
                    await wait_healthy(port, gateways[-1])
            await eventually(
                lambda: set(accepted) <= set(delivered_texts(receiver)),
                within_s=30,
                what="every accepted message",
            )
    finally:
        for proc in gateways:
            stop(proc)
    ids = delivered_texts(receiver)
    missing = [text for text in accepted if text not in ids]
    assert not missing
    # At least once, and always under the same id: a replay is recognisable as the same event.
    assert all(len(ids[text]) == 1 for text in accepted), {t: i for t, i in ids.items() if len(i) > 1}
