"""A node cut off from PostgreSQL stops its devices before their leases can expire (real app, real server)."""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from tests.cluster.nodes import start_node
from tests.harness import WsListener, api, device_status, link_device, wait_for
from tests.messaging_harness import PEER
from tests.servers import PostgresServer

TOKEN = "6281234567891"


async def test_cut_off_from_the_database_the_node_stops_its_devices_before_the_lease_expires(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    server = PostgresServer()  # its own server: stopping it must not disturb the other tests
    try:
        server.start()
        a = await start_node(aiohttp_client, tmp_path, "a", server.create_database("fence"))
        listener = await WsListener.open(a)
        await link_device(a, TOKEN, listener)
        server.stop()
        cut_at = time.time()
        # Until it is stopped the device keeps running; the last renewal happened before the cut.
        await wait_for(lambda: _is_disconnected(a), within=10.0, what="the device to be stopped")
        stopped_at = time.time()
        # LEASE_TTL_SECONDS=3: renewals every second; no renewal after the cut, so the lease expires
        # no later than 3 s after it. The device must be down before then.
        assert stopped_at - cut_at < 3.0
        status, body = await api(a, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "x"})
        assert status == 409, body
        status, body = await api(a, "GET", "/cluster")
        assert status == 503 and body["error"]["code"] == "DATABASE_UNAVAILABLE"
        await listener.close()
    finally:
        server.close()


async def _is_disconnected(client: TestClient) -> bool:
    return await device_status(client, TOKEN) == "disconnected"
