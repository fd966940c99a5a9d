"""Real gateway processes on one PostgreSQL database: three nodes, a kill -9 of the owner, and SIGTERM."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from tests.cluster.nodes import SECRET
from tests.conftest import API_KEY, AUTH
from tests.messaging_harness import PEER
from tests.processes import start_gateway, stop, wait_exit, wait_healthy
from tests.servers import free_port
from tests.webhooks.webhook_harness import Receiver

pytestmark = pytest.mark.slow

TOKEN = "6281234567893"
TTL = 3


class Node:
    def __init__(self, name: str, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.name, self.port, self.proc = name, port, proc

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str) -> AsyncIterator[Callable[[str], Any]]:
    started: list[Node] = []

    async def start(name: str, **extra: str) -> Node:
        port = free_port()
        env = {
            "API_KEY": API_KEY,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "WA_ENGINE": "sandbox",
            "DATA_DIR": str(tmp_path / name),
            "DATABASE_URL": postgres_url,
            "DATABASE_POOL_SIZE": "4",
            "NODE_ID": name,
            "NODE_URL": f"http://127.0.0.1:{port}",
            "CLUSTER_SECRET": SECRET,
            "LEASE_TTL_SECONDS": str(TTL),
            "TYPING_DELAY_MS": "0",
            **extra,
        }
        (tmp_path / name).mkdir(exist_ok=True)
        proc = start_gateway(env, tmp_path, log_path=tmp_path / f"{name}.log")
        node = Node(name, port, proc)
        started.append(node)
        await wait_healthy(port, proc)
        return node

    try:
        yield start
    finally:
        for node in started:
            stop(node.proc)


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, url, json=body, headers=AUTH) as resp:
        return resp.status, await resp.json()


async def poll(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def owner(session: aiohttp.ClientSession, node: Node) -> tuple[str | None, int] | None:
    status, body = await call(session, "GET", node.url("/cluster"))
    assert status == 200, body
    for device in body["data"]["devices"]:
        if device["token"] == TOKEN:
            return device["owner"], device["generation"]
    return None


async def pair(session: aiohttp.ClientSession, on: Node, ws: aiohttp.ClientWebSocketResponse) -> None:
    status, body = await call(session, "POST", on.url("/devices"), {"token": TOKEN, "method": "qr"})
    assert status == 200, body
    status, body = await call(session, "POST", on.url(f"/sandbox/devices/{TOKEN}/link"), {"pushName": "A"})
    assert status == 200, body
    async with asyncio.timeout(10):
        while True:
            frame = await ws.receive_json()
            if frame.get("event") == "connection-success" and frame.get("token") == TOKEN:
                return


async def listen(session: aiohttp.ClientSession, node: Node) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(node.url("/ws"))
    await ws.send_json({"type": "auth", "apiKey": API_KEY})
    assert (await ws.receive_json(timeout=5))["success"] is True
    return ws


async def test_three_nodes_and_a_kill_of_the_owner(nodes: Callable[[str], Any]) -> None:
    a, b, c = await asyncio.gather(nodes("a"), nodes("b"), nodes("c"))
    async with aiohttp.ClientSession() as session:
        ws = await listen(session, c)
        await pair(session, a, ws)  # paired on A, seen on a WebSocket client of C
        assert await owner(session, c) == ("a", 1)
        status, body = await call(
            session, "POST", b.url("/messages"), {"token": TOKEN, "to": PEER, "text": "hi"}
        )
        assert status == 200, body
        status, log = await call(session, "GET", c.url(f"/sandbox/devices/{TOKEN}/sent"))
        assert [m["id"] for m in log["data"]["messages"]] == [body["data"]["messageId"]]

        os.killpg(a.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await wait_exit(a.proc, 10)

        async def moved() -> tuple[str | None, int] | None:
            found = await owner(session, b)
            return found if found is not None and found[0] in ("b", "c") else None

        new_owner, generation = await poll(moved, TTL + 5, "another node to own the device")
        assert time.monotonic() - killed_at <= TTL + 5
        assert generation == 2

        async def reconnected() -> bool | None:
            # The session lives in the shared database, so the new owner connects it again.
            status, body = await call(session, "GET", b.url(f"/devices/{TOKEN}"))
            return True if status == 200 and body["data"]["status"] == "connected" else None

        await poll(reconnected, TTL + 5, "the device connected again on its new owner")
        status, body = await call(session, "GET", b.url(f"/sandbox/devices/{TOKEN}/sessions"))
        sessions = body["data"]["sessions"]
        assert sessions[0]["node"] == "a" and sessions[0]["generation"] == 1
        assert (sessions[-1]["node"], sessions[-1]["generation"]) == (new_owner, 2)
        # Never two live connections at once: each one began after the one before it ended.
        for before, after in itertools.pairwise(sessions):
            assert before["endedAt"] is not None and before["endedAt"] <= after["connectedAt"]
        await ws.close()


async def test_sigterm_hands_the_devices_over_at_once(nodes: Callable[[str], Any]) -> None:
    a, b = await asyncio.gather(nodes("a"), nodes("b"))
    async with aiohttp.ClientSession() as session:
        ws = await listen(session, a)
        await pair(session, a, ws)
        await ws.close()
        a.proc.send_signal(signal.SIGTERM)
        assert await wait_exit(a.proc, 20) == 0
        stopped_at = time.monotonic()

        async def moved() -> object:
            return await owner(session, b) == ("b", 2)

        await poll(moved, TTL + 5, "B to take the device")
        # Released, not expired: B took it at its next round, before the TTL could have run out.
        assert time.monotonic() - stopped_at < TTL
        _status, body = await call(session, "GET", b.url("/cluster"))
        assert {n["id"]: n["live"] for n in body["data"]["nodes"]} == {"a": False, "b": True}
        _status, body = await call(session, "GET", b.url(f"/sandbox/devices/{TOKEN}/sessions"))
        assert [(s["node"], s["endedBy"]) for s in body["data"]["sessions"]][:1] == [("a", "shutdown")]


async def test_no_webhook_event_is_lost_or_reordered_across_a_kill_of_the_owner(
    nodes: Callable[..., Any], aiohttp_server: AiohttpServer
) -> None:
    # A slow receiver: one delivery in flight per device, so events are still queued at the kill.
    receiver = Receiver(latency_s=0.2)
    hook = str((await aiohttp_server(receiver.app())).make_url("/hook"))
    a, b = await asyncio.gather(nodes("a", WEBHOOK_URL=hook), nodes("b", WEBHOOK_URL=hook))
    texts = [f"m{i:02d}" for i in range(30)]
    async with aiohttp.ClientSession() as session:
        ws = await listen(session, a)
        await pair(session, a, ws)
        await ws.close()
        for text in texts:  # through B: forwarded to the owner, answered once journaled there
            status, body = await call(
                session, "POST", b.url(f"/sandbox/devices/{TOKEN}/messages"), {"from": PEER, "text": text}
            )
            assert status == 200, body
        os.killpg(a.proc.pid, signal.SIGKILL)
        await wait_exit(a.proc, 10)
        assert len(_received(receiver)) < len(texts), "everything was delivered before the kill"

        async def moved() -> object:
            found = await owner(session, b)
            return found is not None and found[0] == "b"

        await poll(moved, TTL + 5, "B to own the device")
        await nodes("a", WEBHOOK_URL=hook)  # A comes back and sends what its outbox still holds

        async def all_delivered() -> object:
            return len(_received(receiver)) == len(texts)

        await poll(all_delivered, 30, "every event to be delivered")
        assert _received(receiver) == texts


def _received(receiver: Receiver) -> list[str]:
    """The texts of the device's message.received events, in delivery order, duplicates dropped by id."""
    seen: set[str] = set()
    texts = []
    for request in receiver.delivered():
        payload = request.payload
        if payload.get("event") != "message.received" or payload["token"] != TOKEN or request.id in seen:
            continue
        seen.add(request.id)
        texts.append(payload["data"]["text"])
    return texts
