"""The real gateway with NATS_URL: nats-server stopped under it, then kill -9, then restart.

Every accepted message reaches WA_EVENTS exactly once per id, in each device's order.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.broker.nats_helpers import Published, stream_messages
from tests.conftest import API_KEY
from tests.processes import api_call as call
from tests.processes import start_gateway, stop, wait_healthy
from tests.servers import NatsServer

pytestmark = pytest.mark.slow

TOKENS = ("60123456789", "60123456780")


@pytest.fixture
def nats_own() -> Iterator[NatsServer]:
    server = NatsServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


async def send(session: aiohttp.ClientSession, port: int, numbers: range) -> None:
    for n in numbers:
        for token in TOKENS:
            message = {"from": "60198765432", "text": f"{token}-m{n}"}
            await call(session, port, "POST", f"/sandbox/devices/{token}/messages", message)


async def connected(session: aiohttp.ClientSession, port: int, deadline_s: float = 30.0) -> None:
    """Both devices restored and connected (polled, with a deadline)."""
    statuses: list[str] = []
    for _ in range(int(deadline_s / 0.1)):
        try:
            statuses = [(await call(session, port, "GET", f"/devices/{t}"))["status"] for t in TOKENS]
        except AssertionError:  # not restored yet: sessions come back in the background after /health
            statuses = []
        if statuses == ["connected"] * len(TOKENS):
            return
        await asyncio.sleep(0.1)  # polling with a deadline for a positive condition
    raise AssertionError(f"devices not connected after restart: {statuses}")


async def received(url: str, want: int, deadline_s: float = 60.0) -> list[Published]:
    """The stream's messages once it holds ``want`` message.received events (polled, with a deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    for _ in range(int(deadline_s / 0.2)):
        found = await stream_messages(url, 0)
        if sum(p.subject.endswith(".message.received") for p in found) >= want or loop.time() > end:
            return found
        await asyncio.sleep(0.2)  # polling with a deadline for a positive condition
    return await stream_messages(url, 0)


async def test_kill_9_and_a_nats_outage_lose_and_repeat_nothing(
    tmp_path: Path, unused_tcp_port: int, nats_own: NatsServer
) -> None:
    port = unused_tcp_port
    env = {
        "API_KEY": API_KEY,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WA_ENGINE": "sandbox",
        "DATA_DIR": str(tmp_path / "data"),
        "NATS_URL": nats_own.url,
        "TYPING_DELAY_MS": "0",
        "RATE_LIMIT_DEVICES": "0",
    }
    first = start_gateway(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, first)
            for token in TOKENS:
                await call(session, port, "POST", "/devices", {"token": token})
                await call(session, port, "POST", f"/sandbox/devices/{token}/link")
            await send(session, port, range(0, 3))
            await received(nats_own.url, 6)
            await asyncio.to_thread(nats_own.stop)
            await send(session, port, range(3, 6))  # committed, not publishable yet
            os.killpg(first.pid, signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
    finally:
        stop(first)

    await asyncio.to_thread(nats_own.start)
    second = start_gateway(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, second)
            await connected(session, port)
            await send(session, port, range(6, 8))
            await received(nats_own.url, 16)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 15)
        stop(second)
    # Read once the only publisher has exited: a repeat can no longer be on its way.
    published = await stream_messages(nats_own.url, 16)

    ids = [p.msg_id for p in published]
    assert len(ids) == len(set(ids)), "an id reached the stream twice"
    assert all(p.msg_id == p.payload["id"] for p in published)
    for token in TOKENS:
        texts = [_text(p) for p in published if p.subject == f"wa.{token}.message.received"]
        assert texts == [f"{token}-m{n}" for n in range(8)]
    assert second.returncode == 0


def _text(published: Published) -> str:
    data = published.payload["data"]
    assert isinstance(data, dict)
    return str(data["text"])
