"""Response details a Go-gateway client meets: query values, `data`, field names, timestamps, errors."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import AUTH, SettingsFactory
from .harness import WsListener, api, gateway
from .messaging_harness import PEER, TOKEN, linked_gateway


def iso(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


async def test_contacts_format_other_than_json_or_csv_is_refused(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    for value in ("xml", "CSV", "yaml"):
        status, body = await api(client, "GET", f"/contacts/{TOKEN}?format={value}")
        assert status == 400 and body["error"]["code"] == "INVALID_QUERY", value
        assert "format" in body["error"]["message"]
    for value in ("json", ""):
        status, body = await api(client, "GET", f"/contacts/{TOKEN}?format={value}")
        assert status == 200 and body["data"]["contacts"] == [], value
    resp = await client.get(f"/contacts/{TOKEN}?format=csv", headers=AUTH)
    assert resp.status == 200 and resp.content_type == "text/csv"
    await linked.close()


async def test_every_success_response_has_data(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    for path, body in [
        (f"/sandbox/devices/{TOKEN}/receipts", {"type": "read", "messageIds": ["X1"], "from": PEER}),
        (f"/sandbox/devices/{TOKEN}/history-sync", {"contacts": []}),
        (f"/sandbox/devices/{TOKEN}/disconnect", None),
    ]:
        status, answer = await api(linked.client, "POST", path, body)
        assert status == 200 and answer["success"] is True, answer
        assert answer["data"] == {}, path
    await linked.close()


async def test_device_detail_names_the_pairing_code_like_the_post_and_the_event(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    _, body = await api(client, "POST", "/devices", {"token": TOKEN, "method": "code"})
    code = body["data"]["code"]
    assert (await listener.next("pairing-code", TOKEN))["data"] == {"code": code}
    _, body = await api(client, "GET", f"/devices/{TOKEN}")
    assert body["data"]["code"] == body["data"]["pairingCode"] == code
    await listener.close()


async def test_sandbox_sent_log_uses_iso_timestamps(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=200)
    status, sent = await api(linked.client, "POST", "/messages", {"token": TOKEN, "to": PEER, "text": "hi"})
    assert status == 200
    _, body = await api(linked.client, "GET", f"/sandbox/devices/{TOKEN}/sent")
    (message,) = body["data"]["messages"]
    composing, paused = (iso(at) for at in message["presenceAt"])
    # Millisecond precision keeps the typing delay visible.
    assert (paused - composing).total_seconds() >= 0.2
    assert iso(message["timestamp"]) >= paused
    assert iso(message["timestamp"]).replace(microsecond=0) == iso(sent["data"]["timestamp"])
    assert all(isinstance(iso(step["at"]), datetime) for step in body["data"]["presence"])
    await linked.close()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": 60123456789, "to": PEER, "text": "x"}, "token"),
        ({"token": TOKEN, "to": PEER, "text": ["x"]}, "text"),
        ({"token": TOKEN, "to": True, "text": "x"}, "to"),
    ],
)
async def test_wrong_type_keeps_the_go_message_and_names_the_field(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, body: dict, field: str
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    status, answer = await api(client, "POST", "/messages", body)
    assert status == 400
    assert answer["error"] == {"code": "INVALID_REQUEST", "message": "Invalid request body", "field": field}


async def test_unparsable_body_has_no_field(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    resp = await client.post("/messages", data=b"[1]", headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"] == {"code": "INVALID_REQUEST", "message": "Invalid request body"}


async def test_openapi_states_what_the_routes_accept(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    doc = await (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path, ops in paths.items():
        for op in ops.values():
            for param in op.get("parameters", []):
                if param["name"] == "token" and param["in"] == "path":
                    assert param["schema"]["pattern"] == "^[0-9]{7,15}$", path
    body = paths["/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["token"]["pattern"] == "^[0-9]{7,15}$" and body["text"]["minLength"] == 1
    (message_id,) = [p for p in paths["/messages/{id}"]["patch"]["parameters"] if p["name"] == "id"]
    pattern = re.compile(message_id["schema"]["pattern"])
    assert not pattern.search("media") and not pattern.search("read") and pattern.search("3EB0A1B2")
    assert pattern.search("mediator") and pattern.search("reader")
