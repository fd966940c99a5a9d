"""One view of the cluster (docs/cluster.md "One view of the cluster"): every node lists every device with
its owner, /health/detailed shows the nodes, /metrics counts what each node owns; the JID a neonize
device's session is stored under is what the node that takes it over connects with. Real PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from tests.cluster.nodes import start_node
from tests.harness import AUTH, WsListener, api, link_device, wait_for
from wa_gateway.clock import SystemClock
from wa_gateway.cluster.node import ClusterNode
from wa_gateway.config import load_settings
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import contract as c
from wa_gateway.events.bus import EventBus

ON_A, ON_B = "6281234567890", "6281234567891"


def listing(body: Any) -> dict[str, tuple[str, str | None]]:
    return {d["token"]: (d["status"], d["node"]) for d in body["data"]["devices"]}


async def devices_of(client: TestClient) -> dict[str, tuple[str, str | None]]:
    status, body = await api(client, "GET", "/devices")
    assert status == 200, body
    return listing(body)


async def test_every_node_lists_every_device_with_the_node_that_owns_it(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    on_a, on_b = await WsListener.open(a), await WsListener.open(b)
    await link_device(a, ON_A, on_a)
    await link_device(b, ON_B, on_b)
    both = {ON_A: ("connected", "a"), ON_B: ("connected", "b")}

    async def listed_everywhere() -> bool:
        return await devices_of(a) == both and await devices_of(b) == both

    await wait_for(listed_everywhere, what="both devices listed on both nodes")
    status, body = await api(a, "GET", "/devices")
    by_token = {d["token"]: d for d in body["data"]["devices"]}
    assert by_token[ON_B]["jid"] and by_token[ON_B]["connectedAt"], "as its owner reported it"

    status, body = await api(a, "GET", "/health/detailed")
    assert status == 200, body
    cluster = body["data"]["cluster"]
    assert cluster["node"] == "a" and cluster["devicesOwned"] == 1 and cluster["databaseReachable"] is True
    nodes = {n["id"]: (n["live"], n["devices"]) for n in cluster["nodes"]}
    assert nodes == {"a": (True, [ON_A]), "b": (True, [ON_B])}

    resp = await a.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert 'wa_gateway_cluster_devices_owned{node="a"} 1' in await resp.text()

    # b stops: its device is free at once and a takes it over (the sandbox's session is shared).
    await on_b.close()
    await b.close()

    async def moved() -> bool:
        return await devices_of(a) == {ON_A: ("connected", "a"), ON_B: ("connected", "a")}

    await wait_for(moved, within=15, what="the device of b listed as connected on a")
    status, body = await api(a, "GET", f"/devices/{ON_B}")
    assert status == 200 and body["data"]["status"] == "connected"
    await on_a.close()


async def test_a_device_without_a_live_owner_is_listed_disconnected_on_every_node(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    on_a = await WsListener.open(a)
    await link_device(a, ON_A, on_a)
    await on_a.close()
    await a.close()
    # A node that never ran the device: it starts, takes the free lease and connects it; until then, and
    # whatever it knows locally, the listing is the directory's.
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)

    async def settled() -> bool:
        return await devices_of(b) == {ON_A: ("connected", "b")}

    await wait_for(settled, within=15, what="the device connected on b")
    status, body = await api(b, "GET", "/devices/6281234567899")
    assert status == 404 and body["error"]["code"] == "DEVICE_NOT_FOUND"


class RecordingEngine:
    """The engine link of a node: records each connect, answers like a neonize worker."""

    def __init__(self) -> None:
        self.connects: list[dict[str, Any]] = []

    async def request(
        self,
        cmd: str,
        args: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        if cmd == c.CMD_CONNECT:
            assert args is not None
            self.connects.append(dict(args))
            return {"paired": "jid" in args}
        if cmd == c.CMD_LIST_SESSIONS:
            return {"sessions": []}  # a neonize worker with a database lists none (the cluster does)
        return None


async def _node(
    name: str, url: str, tmp_path: Path
) -> tuple[ClusterNode, DeviceManager, RecordingEngine, Any]:
    settings = load_settings(
        {
            "API_KEY": "test-api-key-0123456789",
            "DATA_DIR": str(tmp_path / name),
            "WA_ENGINE": "neonize",
            "DATABASE_URL": url,
            "NODE_ID": name,
            "NODE_URL": "http://127.0.0.1:1",
            "LEASE_TTL_SECONDS": "3",
        }
    )
    database = PostgresDatabase(url, pool_size=4)
    await database.open()
    node = ClusterNode(settings, database, SystemClock())
    engine = RecordingEngine()
    manager = DeviceManager(engine, EventBus(), clock=SystemClock(), device_name="Chrome (Linux)")
    app = web.Application()
    node.install(app, manager)
    running = node.cleanup_ctx(app)
    await running.__aenter__()
    return node, manager, engine, (running, database, manager)


async def _stop(handle: Any) -> None:
    running, database, manager = handle
    await running.__aexit__(None, None, None)
    await manager.close()
    await database.close()


async def test_the_jid_a_node_recorded_is_what_the_next_owner_connects_with(
    postgres_url: str, tmp_path: Path
) -> None:
    node_a, manager_a, engine_a, handle_a = await _node("a", postgres_url, tmp_path)
    jid = f"{ON_A}:12@s.whatsapp.net"
    try:
        await manager_a.connect(ON_A, "qr")
        assert "jid" not in engine_a.connects[0], "a new pairing names no stored session"
        manager_a.on_event(ON_A, c.EV_CONNECTED, {"jid": jid, "pushName": "Shop"})
        await manager_a.drain(5)
        await node_a.directory.flush()
        assert await node_a.store.session_jid(ON_A, 2.0) == jid
    finally:
        await _stop(handle_a)  # frees the lease: the next node takes it at its first round
    _node_b, manager_b, engine_b, handle_b = await _node("b", postgres_url, tmp_path)
    try:
        # b took the free lease at its start; the restore once its worker is up connects it.
        await manager_b.restore()
        assert engine_b.connects == [
            {"token": ON_A, "method": "restore", "device_name": "Chrome (Linux)", "jid": jid}
        ]
    finally:
        await _stop(handle_b)
