"""Any node answers any request; WebSocket clients of every node see every device (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from pytest_aiohttp import AiohttpClient

from tests.cluster.nodes import SECRET, start_node
from tests.harness import WsListener, api, link_device, wait_for
from tests.messaging_harness import PEER

TOKEN = "6281234567890"


async def test_pair_on_a_send_through_b_and_see_it_on_a_websocket_of_c(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    c = await start_node(aiohttp_client, tmp_path, "c", postgres_url)
    on_a, on_c = await WsListener.open(a), await WsListener.open(c, {"events": ["*"]})
    await link_device(a, TOKEN, on_a)
    # The device's events reach a WebSocket client of another node.
    await on_c.next("connection-success", TOKEN)

    status, body = await api(b, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "via b"})
    assert status == 200, body
    message_id = body["data"]["messageId"]
    # The node that runs the device sent it: its sandbox log has it.
    status, log = await api(a, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert status == 200 and [m["id"] for m in log["data"]["messages"]] == [message_id]

    resp = await b.get(f"/devices/{TOKEN}", headers={"X-API-Key": "test-api-key-0123456789"})
    assert resp.status == 200 and resp.headers["X-Cluster-Node"] == "a"
    assert (await resp.json())["data"]["status"] == "connected"

    # An incoming message on the device shows on C.
    status, _ = await api(c, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": PEER, "text": "hello"})
    assert status == 200
    received = await on_c.next("message.received", TOKEN)
    assert received["data"]["text"] == "hello"
    await on_a.close()
    await on_c.close()


async def test_cluster_lists_every_node_and_every_devices_owner(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    on_a = await WsListener.open(a)
    await link_device(a, TOKEN, on_a)
    status, body = await api(b, "GET", "/cluster")
    assert status == 200, body
    data = body["data"]
    assert data["node"] == "b" and data["leaseTtlSeconds"] == 3
    nodes = {n["id"]: n for n in data["nodes"]}
    assert set(nodes) == {"a", "b"} and nodes["a"]["devices"] == [TOKEN] and nodes["b"]["devices"] == []
    assert nodes["a"]["url"] == str(a.make_url("")).rstrip("/") and nodes["a"]["live"] is True
    assert [(d["token"], d["owner"], d["generation"]) for d in data["devices"]] == [(TOKEN, "a", 1)]
    await on_a.close()


async def test_forwarded_requests_without_the_secret_are_refused(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    for headers in (
        {"X-Cluster-Forwarded-By": "b"},
        {"X-Cluster-Forwarded-By": "b", "X-Cluster-Secret": SECRET[:-1] + "x"},
        {"X-Cluster-Secret": "short"},
    ):
        status, body = await api(a, "GET", "/devices", headers=headers)
        assert status == 403 and body["error"]["code"] == "CLUSTER_FORBIDDEN", headers
    status, _ = await api(
        a, "GET", "/devices", headers={"X-Cluster-Forwarded-By": "b", "X-Cluster-Secret": SECRET}
    )
    assert status == 200


async def test_a_forwarded_request_is_never_forwarded_again(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    on_a = await WsListener.open(a)
    await link_device(a, TOKEN, on_a)
    hop = {"X-Cluster-Forwarded-By": "a", "X-Cluster-Secret": SECRET}
    # B does not run the device; a request forwarded to it is answered by B itself, never sent on.
    status, body = await api(b, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "x"}, headers=hop)
    assert status in (404, 409), body
    status, log = await api(a, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert log["data"]["messages"] == []
    await on_a.close()


async def test_a_device_is_paired_where_the_request_arrived_and_nowhere_else(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    b = await start_node(aiohttp_client, tmp_path, "b", postgres_url)
    on_b = await WsListener.open(b)
    await link_device(b, TOKEN, on_b)
    # POST /devices on A for B's device goes to B, which answers as the one owner does.
    status, body = await api(a, "POST", "/devices", {"token": TOKEN, "method": "qr"})
    assert status == 409 and body["error"]["code"] == "DEVICE_ALREADY_CONNECTED"

    async def owners() -> object:
        _, body = await api(a, "GET", "/cluster")
        return [(d["owner"], d["generation"]) for d in body["data"]["devices"]] == [("b", 1)]

    await wait_for(owners, what="one owner")
    await on_b.close()


async def test_cluster_needs_an_admin_key_and_every_cluster_route_is_documented(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    from openapi_spec_validator import validate

    from tests.test_openapi import documented_routes, served_routes

    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    status, body = await api(a, "POST", "/keys", {"name": "reader", "scopes": ["devices:read"]})
    assert status == 201, body
    scoped = {"Authorization": f"Bearer {body['data']['key']}"}
    resp = await a.get("/cluster", headers=scoped)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "FORBIDDEN"
    document = await (await a.get("/openapi.json")).json()
    validate(document)
    served, documented = served_routes(a.app), documented_routes(document)
    assert {("GET", "/cluster"), ("GET", "/sandbox/devices/{token}/sessions")} <= served
    assert served == documented


async def test_a_body_that_cannot_be_read_is_still_a_clear_400(
    aiohttp_client: AiohttpClient, tmp_path: Path, postgres_url: str
) -> None:
    a = await start_node(aiohttp_client, tmp_path, "a", postgres_url)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    status, body = await api(a, "POST", "/messages", data=b"not gzip at all", headers=headers)
    assert status == 400 and body["error"]["code"] == "INVALID_REQUEST", body
