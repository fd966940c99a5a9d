"""The connection log: every connection of a device on any node, and the newer one replacing the older."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from tests.cluster.nodes import start_node
from tests.harness import WsListener, api, link_device, wait_for
from wa_gateway.clock import ManualClock
from wa_gateway.cluster.sessions import ConnectionLog
from wa_gateway.db.postgres import PostgresDatabase

TOKEN = "6281234567892"


async def test_a_second_connection_replaces_the_first_and_tells_its_node(postgres_url: str) -> None:
    clock = ManualClock()
    database = PostgresDatabase(postgres_url, pool_size=4)
    await database.open()
    replaced: dict[str, asyncio.Queue[str]] = {"a": asyncio.Queue(), "b": asyncio.Queue()}

    def make(node: str, generation: int) -> ConnectionLog:
        async def on_replaced(token: str) -> None:
            replaced[node].put_nowait(token)

        return ConnectionLog(
            database, node_id=node, clock=clock, generation=lambda _t: generation, on_replaced=on_replaced
        )

    a, b = make("a", 1), make("b", 2)
    await a.open()
    await b.open()
    try:
        async with asyncio.timeout(5):
            await a.listening.wait()
            await b.listening.wait()
        a.connected(TOKEN)
        await a.drain()
        clock.advance(5)
        b.connected(TOKEN)
        await b.drain()
        async with asyncio.timeout(5):
            assert await replaced["a"].get() == TOKEN
        assert replaced["b"].empty()
        sessions = await a.sessions(TOKEN)
        assert [(s["node"], s["generation"], s["endedBy"]) for s in sessions] == [
            ("a", 1, "stream_replaced"),
            ("b", 2, None),
        ]
        assert sessions[0]["endedAt"] == sessions[1]["connectedAt"]
        # The replaced node's own "disconnected" afterwards changes nothing: its connection is over.
        a.ended(TOKEN, "disconnected")
        b.ended(TOKEN, "shutdown")
        await a.drain()
        await b.drain()
        assert [s["endedBy"] for s in await b.sessions(TOKEN)] == ["stream_replaced", "shutdown"]
    finally:
        await a.close()
        await b.close()
        await database.close()


async def test_every_node_lists_a_devices_connections(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    on_a = await WsListener.open(a)
    await link_device(a, TOKEN, on_a)

    async def sessions() -> list[dict[str, object]]:
        status, body = await api(b, "GET", f"/sandbox/devices/{TOKEN}/sessions")
        assert status == 200, body
        found: list[dict[str, object]] = body["data"]["sessions"]
        return found

    opened = await wait_for(sessions, what="the connection to be recorded")
    assert [(s["node"], s["generation"], s["endedAt"], s["endedBy"]) for s in opened] == [
        ("a", 1, None, None)
    ]
    status, _ = await api(b, "POST", f"/sandbox/devices/{TOKEN}/disconnect")
    assert status == 200

    async def ended() -> object:
        return [s["endedBy"] for s in await sessions()][:1] == ["disconnected"]

    await wait_for(ended, what="the connection to end")
    await on_a.close()
