"""Per-device webhooks against the real gateway, with real receivers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from wa_gateway.app import create_app

from ..conftest import SettingsFactory
from ..harness import FAST_ENGINE, WsListener, api, gateway, link_device, wait_for
from .webhook_harness import Receiver

MINE = "60123456789"
OTHER = "60111111111"
PEER = "60199999999"


async def receiver_on(aiohttp_server: AiohttpServer) -> Receiver:
    recv = Receiver()
    server = await aiohttp_server(recv.app())
    recv.url = str(server.make_url("/hook"))
    return recv


async def incoming(client: TestClient, token: str, text: str) -> None:
    status, body = await api(
        client, "POST", f"/sandbox/devices/{token}/messages", {"from": PEER, "text": text}
    )
    assert status == 200, body


def texts(recv: Receiver, token: str) -> list[str]:
    return [
        r.payload["data"]["text"]
        for r in recv.delivered()
        if r.payload["event"] == "message.received" and r.payload["token"] == token
    ]


async def linked(client: TestClient) -> None:
    listener = await WsListener.open(client)
    await link_device(client, MINE, listener)
    await link_device(client, OTHER, listener)
    await listener.close()


async def until(check: Callable[[], bool], what: str) -> None:
    async def probe() -> bool:
        return check()

    await wait_for(probe, what=what)


async def run_two_targets(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory, **env: Any
) -> tuple[TestClient, Receiver, Receiver]:
    everything, own = await receiver_on(aiohttp_server), await receiver_on(aiohttp_server)
    client, _ = await gateway(aiohttp_client, make_settings, WEBHOOK_URL=everything.url, **env)
    await linked(client)
    status, body = await api(
        client,
        "PUT",
        f"/devices/{MINE}/webhook",
        {"url": own.url, "secret": "s3cret", "events": ["message.*"]},
    )
    assert status == 200, body
    assert body["data"] == {"token": MINE, "url": own.url, "events": ["message.*"], "hasSecret": True}
    for n in range(5):
        await incoming(client, MINE, f"mine {n}")
        await incoming(client, OTHER, f"other {n}")
    await until(lambda: len(texts(own, MINE)) == 5, what="five messages at the device's webhook")
    assert texts(own, MINE) == [f"mine {n}" for n in range(5)]
    assert texts(own, OTHER) == []
    assert {r.payload["event"] for r in own.delivered()} == {"message.received"}
    assert all("sha256=" in r.headers["X-Webhook-Signature"] for r in own.delivered())
    await until(lambda: len(texts(everything, OTHER)) == 5, what="the global webhook")
    assert texts(everything, OTHER) == [f"other {n}" for n in range(5)]
    return client, everything, own


async def test_device_webhook_gets_its_device_in_order_and_global_gets_all(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    _, everything, _ = await run_two_targets(aiohttp_client, aiohttp_server, make_settings)
    await until(lambda: len(texts(everything, MINE)) == 5, what="MINE at the global webhook")
    assert texts(everything, MINE) == [f"mine {n}" for n in range(5)]


async def test_global_off_leaves_out_devices_with_their_own_webhook(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    client, everything, _ = await run_two_targets(
        aiohttp_client, aiohttp_server, make_settings, WEBHOOK_GLOBAL="false"
    )
    # WEBHOOK_URL's row is committed before the device's, so once the device's receiver has every
    # message, anything bound for WEBHOOK_URL is in its outbox; wait until that outbox is empty.

    async def drained() -> bool:
        status, body = await api(client, "GET", "/webhooks/stats")
        return status == 200 and body["data"]["pending"] == 0

    await wait_for(drained, what="the global outbox to drain")
    assert texts(everything, MINE) == []
    assert texts(everything, OTHER) == [f"other {n}" for n in range(5)]


async def test_private_urls_need_the_admin_key_or_the_setting(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    recv = await receiver_on(aiohttp_server)
    client, _ = await gateway(aiohttp_client, make_settings)
    status, body = await api(
        client, "POST", "/keys", {"name": "c", "scopes": ["webhooks:admin"], "devices": [MINE]}
    )
    key = {"Authorization": f"Bearer {body['data']['key']}"}
    for url in (recv.url, "http://10.0.0.8/hook", "http://[::1]/hook", "http://localhost/hook"):
        status, body = await api(client, "PUT", f"/devices/{MINE}/webhook", {"url": url}, headers=key)
        assert (status, body["error"]["code"]) == (400, "WEBHOOK_URL_NOT_ALLOWED"), url
    assert (await api(client, "GET", f"/devices/{MINE}/webhook"))[0] == 404
    status, body = await api(client, "PUT", f"/devices/{OTHER}/webhook", {"url": recv.url}, headers=key)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    status, body = await api(client, "PUT", f"/devices/{MINE}/webhook", {"url": recv.url})
    assert status == 200, body
    assert (await api(client, "GET", f"/devices/{MINE}/webhook", headers=key))[1]["data"]["url"] == recv.url


async def test_private_urls_allowed_by_setting_and_targets_survive_a_restart(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    recv = await receiver_on(aiohttp_server)
    settings = make_settings(WEBHOOK_ALLOW_PRIVATE_URLS="true", TYPING_DELAY_MS=0)
    first = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    status, body = await api(first, "POST", "/keys", {"name": "c", "scopes": ["webhooks:admin"]})
    key = {"Authorization": f"Bearer {body['data']['key']}"}
    status, body = await api(first, "PUT", f"/devices/{MINE}/webhook", {"url": recv.url}, headers=key)
    assert status == 200, body
    assert body["data"]["events"] == ["*"] and body["data"]["hasSecret"] is False
    await first.close()
    second = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    status, body = await api(second, "GET", f"/devices/{MINE}/webhook")
    assert status == 200 and body["data"]["url"] == recv.url
    assert (await api(second, "DELETE", f"/devices/{MINE}/webhook"))[0] == 200
    assert (await api(second, "GET", f"/devices/{MINE}/webhook"))[0] == 404
    assert (await api(second, "DELETE", f"/devices/{MINE}/webhook"))[0] == 404


async def test_bad_webhook_requests_change_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    for body in (
        {},
        {"url": "ftp://example.com/x"},
        {"url": "not a url"},
        {"url": 5},
        {"url": "https://example.com/h", "secret": ""},
        {"url": "https://example.com/h", "secret": "whsec_***"},
        {"url": "https://example.com/h", "events": []},
        {"url": "https://example.com/h", "events": ["Message received"]},
        {"url": "https://example.com/h", "events": "message.*"},
    ):
        status, reply = await api(client, "PUT", f"/devices/{MINE}/webhook", body)
        assert (status, reply["error"]["code"]) in {(400, "INVALID_WEBHOOK")}, body
    assert (await api(client, "GET", f"/devices/{MINE}/webhook"))[0] == 404
    status, reply = await api(client, "PUT", "/devices/12/webhook", {"url": "https://example.com/h"})
    assert (status, reply["error"]["code"]) == (400, "INVALID_TOKEN")


async def test_redeliver_sends_a_delivered_event_again_with_its_id(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    everything, own = await receiver_on(aiohttp_server), await receiver_on(aiohttp_server)
    client, _ = await gateway(aiohttp_client, make_settings, WEBHOOK_URL=everything.url)
    await linked(client)
    status, body = await api(client, "PUT", f"/devices/{OTHER}/webhook", {"url": own.url})
    assert status == 200, body
    await incoming(client, MINE, "global only")
    await incoming(client, OTHER, "device target")
    await until(lambda: texts(everything, MINE) == ["global only"], what="MINE's message")
    await until(lambda: texts(own, OTHER) == ["device target"], what="OTHER's message")
    first = next(r for r in everything.delivered() if r.payload["event"] == "message.received")
    at_target = next(r for r in own.delivered() if r.payload["event"] == "message.received")

    status, body = await api(client, "POST", f"/webhooks/events/{first.id}/redeliver")
    assert status == 200 and body["data"] == {"id": first.id, "token": MINE}, body
    await until(lambda: [r.id for r in everything.delivered()].count(first.id) == 2, what="the redelivery")
    again = [r for r in everything.delivered() if r.id == first.id]
    assert again[0].body == again[1].body

    status, body = await api(
        client, "POST", "/keys", {"name": "c", "scopes": ["webhooks:admin"], "devices": [MINE]}
    )
    key = {"Authorization": f"Bearer {body['data']['key']}"}
    status, body = await api(client, "POST", f"/webhooks/events/{at_target.id}/redeliver", headers=key)
    assert (status, body["error"]["code"]) == (404, "WEBHOOK_NOT_FOUND")
    status, body = await api(client, "POST", f"/webhooks/events/{at_target.id}/redeliver")
    assert status == 200 and body["data"]["token"] == OTHER, body
    await until(
        lambda: [r.id for r in own.delivered()].count(at_target.id) == 2, what="the target's redelivery"
    )
    status, body = await api(client, "POST", "/webhooks/events/evt_missing/redeliver")
    assert (status, body["error"]["code"]) == (404, "WEBHOOK_NOT_FOUND")
