"""Scoped API keys against the real gateway: REST scopes, device limits, lists, /metrics and the WebSocket."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.config import Settings

from ..conftest import SettingsFactory
from ..harness import FAST_ENGINE, WsListener, api, gateway, link_device
from ..media_samples import png

MINE = "60123456789"
OTHER = "60111111111"
PEER = "60199999999"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def as_key(client: TestClient, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await client.request(method, path, json=body, headers=bearer(key))
    return resp.status, await resp.json()


async def new_key(client: TestClient, scopes: list[str], devices: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "customer", "scopes": scopes}
    if devices is not None:
        body["devices"] = devices
    status, reply = await api(client, "POST", "/keys", body)
    assert status == 201, reply
    data: dict[str, Any] = reply["data"]
    return data


async def two_linked_devices(client: TestClient) -> None:
    listener = await WsListener.open(client)
    await link_device(client, MINE, listener)
    await link_device(client, OTHER, listener)
    await listener.close()


async def test_key_is_shown_once_and_only_its_hash_is_stored(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    created = await new_key(client, ["messages:send"], [MINE])
    assert created["key"].startswith("wag_") and len(created["key"]) > 40
    assert created["scopes"] == ["messages:send"] and created["devices"] == [MINE]
    status, listed = await api(client, "GET", "/keys")
    assert status == 200
    (entry,) = listed["data"]["keys"]
    assert entry["id"] == created["id"] and "key" not in entry
    assert created["key"].startswith(entry["prefix"])
    stored = b"".join(p.read_bytes() for p in settings.data_dir.glob("keys.db*"))
    assert created["key"].encode() not in stored
    assert created["id"].encode() in stored


async def test_device_limited_key_sends_for_its_device_only(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    await two_linked_devices(client)
    key = (await new_key(client, ["messages:send", "devices:read"], [MINE]))["key"]

    status, body = await as_key(client, key, "POST", "/messages", {"token": MINE, "to": PEER, "text": "hi"})
    assert status == 200, body
    status, body = await as_key(client, key, "POST", "/messages", {"token": OTHER, "to": PEER, "text": "hi"})
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN"), body
    assert body["error"]["message"] == "This API key may not use this device"
    status, body = await as_key(client, key, "GET", f"/devices/{OTHER}")
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")

    status, body = await as_key(client, key, "GET", "/devices")
    assert status == 200 and [d["token"] for d in body["data"]["devices"]] == [MINE]
    status, body = await as_key(client, key, "GET", "/health/detailed")
    assert status == 200 and [d["token"] for d in body["data"]["devices"]] == [MINE]
    assert body["data"]["deviceCount"] == 1
    status, body = await api(client, "GET", "/devices")
    assert [d["token"] for d in body["data"]["devices"]] == [OTHER, MINE]


async def test_missing_scope_is_forbidden_and_names_the_scope(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    key = (await new_key(client, ["devices:read"]))["key"]
    status, body = await as_key(client, key, "POST", "/messages", {"token": MINE, "to": PEER, "text": "hi"})
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    assert "messages:send" in body["error"]["message"]
    # Routes with no scope of their own (the sandbox) need admin.
    status, body = await as_key(client, key, "POST", f"/sandbox/devices/{MINE}/link", {})
    assert status == 403 and "admin" in body["error"]["message"]
    status, body = await as_key(client, key, "POST", "/devices", {"token": MINE})
    assert status == 403 and "devices:write" in body["error"]["message"]
    status, body = await as_key(client, key, "GET", "/devices")
    assert status == 200


async def test_forbidden_does_not_count_as_a_failed_login(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, RATE_LIMIT_AUTH_FAILURES=2)
    key = (await new_key(client, ["devices:read"]))["key"]
    for _ in range(5):
        status, _body = await as_key(client, key, "DELETE", f"/devices/{MINE}")
        assert status == 403
    assert (await as_key(client, key, "GET", "/devices"))[0] == 200
    for _ in range(2):
        assert (await as_key(client, "wag_not-a-key", "GET", "/devices"))[0] == 401
    assert (await as_key(client, key, "GET", "/devices"))[0] == 429


async def test_metrics_are_admin_only(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, RATE_LIMIT_AUTH_FAILURES=2)
    scoped = (await new_key(client, ["devices:read", "messages:read", "webhooks:admin"]))["key"]
    admin_scoped = (await new_key(client, ["admin"]))["key"]
    for _ in range(3):
        resp = await client.get("/metrics", headers=bearer(scoped))
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "FORBIDDEN"
    resp = await client.get("/metrics", headers=bearer(admin_scoped))
    assert resp.status == 200 and "wa_gateway" in await resp.text()


async def test_a_key_cannot_grant_more_than_it_has(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    manager = (await new_key(client, ["keys:admin", "messages:send"], [MINE]))["key"]
    for body in (
        {"name": "wider", "scopes": ["messages:send", "messages:read"], "devices": [MINE]},
        {"name": "other device", "scopes": ["messages:send"], "devices": [OTHER]},
        {"name": "all devices", "scopes": ["messages:send"]},
    ):
        status, reply = await as_key(client, manager, "POST", "/keys", body)
        assert (status, reply["error"]["code"]) == (403, "FORBIDDEN"), body
    status, reply = await as_key(
        client, manager, "POST", "/keys", {"name": "ok", "scopes": ["messages:send"], "devices": [MINE]}
    )
    assert status == 201, reply
    admin_made = await new_key(client, ["devices:read"])
    status, listed = await as_key(client, manager, "GET", "/keys")
    ids = {k["id"] for k in listed["data"]["keys"]}
    assert reply["data"]["id"] in ids and admin_made["id"] not in ids
    status, body = await as_key(client, manager, "DELETE", f"/keys/{admin_made['id']}")
    assert (status, body["error"]["code"]) == (404, "KEY_NOT_FOUND")


async def test_bad_key_requests_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    for body in (
        {"scopes": ["devices:read"]},
        {"name": "x" * 101, "scopes": ["devices:read"]},
        {"name": "bell\a", "scopes": ["devices:read"]},
        {"name": "n", "scopes": []},
        {"name": "n", "scopes": ["devices:rule"]},
        {"name": "n", "scopes": "admin"},
        {"name": "n", "scopes": ["devices:read"], "devices": []},
        {"name": "n", "scopes": ["devices:read"], "devices": ["12"]},
    ):
        status, reply = await api(client, "POST", "/keys", body)
        assert (status, reply["error"]["code"]) == (400, "INVALID_KEY"), body
    assert (await api(client, "GET", "/keys"))[1]["data"]["keys"] == []
    status, reply = await api(client, "DELETE", "/keys/admin")
    assert (status, reply["error"]["code"]) == (400, "INVALID_KEY")
    status, reply = await api(client, "DELETE", "/keys/key_missing")
    assert (status, reply["error"]["code"]) == (404, "KEY_NOT_FOUND")


async def test_keys_survive_a_restart_and_revoked_ones_do_not(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    settings: Settings = make_settings(TYPING_DELAY_MS=0)
    first = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    kept = (await new_key(first, ["devices:read"]))["key"]
    revoked = await new_key(first, ["devices:read"])
    assert (await api(first, "DELETE", f"/keys/{revoked['id']}"))[0] == 200
    assert (await as_key(first, revoked["key"], "GET", "/devices"))[0] == 401
    await first.close()

    second = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    assert (await as_key(second, kept, "GET", "/devices"))[0] == 200
    assert (await as_key(second, revoked["key"], "GET", "/devices"))[0] == 401


async def open_ws(client: TestClient, key: str) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "apiKey": key})
    assert (await ws.receive_json(timeout=5))["success"] is True
    return ws


async def test_websocket_sees_only_its_devices_and_readable_events(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    await two_linked_devices(client)
    reader = (await new_key(client, ["messages:read"], [MINE]))["key"]
    devices_only = (await new_key(client, ["devices:read"], [MINE]))["key"]
    ws_reader, ws_devices = await open_ws(client, reader), await open_ws(client, devices_only)
    admin = await WsListener.open(client, subscribe={"events": ["*"]})
    for ws in (ws_reader, ws_devices):
        await ws.send_json({"type": "subscribe", "tokens": [OTHER]})
        refused = await ws.receive_json(timeout=5)
        assert refused["success"] is False and OTHER in refused["message"]
        await ws.send_json({"type": "subscribe", "events": ["*"]})
        assert (await ws.receive_json(timeout=5))["success"] is True

    for token in (OTHER, MINE):
        status, body = await api(
            client, "POST", f"/sandbox/devices/{token}/messages", {"from": PEER, "text": token}
        )
        assert status == 200, body
        await admin.next("message.received", token)
    frame = await ws_reader.receive_json(timeout=5)
    assert (frame["event"], frame["token"], frame["data"]["text"]) == ("message.received", MINE, MINE)

    # A device event on MINE: the devices:read socket gets it, and it is the first thing it gets,
    # so neither message above reached it.
    status, body = await api(client, "POST", f"/sandbox/devices/{MINE}/disconnect", {})
    assert status == 200, body
    frame = await ws_devices.receive_json(timeout=5)
    assert frame["token"] == MINE and frame["event"] in {"connection-error", "device.disconnected"}
    await admin.close()
    for ws in (ws_reader, ws_devices):
        await ws.close()


async def test_revoking_a_key_closes_its_sockets(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    doomed, kept = await new_key(client, ["devices:read"]), await new_key(client, ["devices:read"])
    ws_doomed, ws_kept = await open_ws(client, doomed["key"]), await open_ws(client, kept["key"])
    assert (await api(client, "DELETE", f"/keys/{doomed['id']}"))[0] == 200
    msg = await ws_doomed.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert (ws_doomed.close_code, msg.extra) == (1008, "API key revoked")
    await ws_kept.send_json({"type": "ping"})
    assert (await ws_kept.receive_json(timeout=5))["type"] == "pong"
    retry = await client.ws_connect("/ws")
    await retry.send_json({"type": "auth", "apiKey": doomed["key"]})
    assert (await retry.receive_json(timeout=5))["success"] is False
    await asyncio.gather(ws_kept.close(), retry.close())


async def test_clearing_every_devices_cache_needs_admin(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    key = (await new_key(client, ["devices:write", "devices:read"], [MINE]))["key"]
    status, body = await as_key(client, key, "DELETE", "/cache")
    assert status == 403 and "admin" in body["error"]["message"]
    assert (await api(client, "DELETE", "/cache"))[0] == 200


async def test_device_limit_holds_for_multipart_uploads(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    await two_linked_devices(client)
    key = (await new_key(client, ["messages:send"], [MINE]))["key"]
    outcomes = {}
    for token in (OTHER, MINE):
        form = aiohttp.FormData()
        form.add_field("token", token)
        form.add_field("to", PEER)
        form.add_field("type", "image")
        form.add_field("file", png(), filename="dot.png", content_type="image/png")
        resp = await client.post("/messages/media", data=form, headers=bearer(key))
        outcomes[token] = (resp.status, (await resp.json()).get("error", {}).get("code"))
    assert outcomes == {OTHER: (403, "FORBIDDEN"), MINE: (200, None)}
