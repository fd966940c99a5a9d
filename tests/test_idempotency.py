"""Idempotency-Key on sending routes: one send per key, the first answer again, across restarts."""

from __future__ import annotations

import asyncio
import base64

import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app

from .conftest import SettingsFactory
from .harness import AUTH, FAST_ENGINE, WsListener, api, device_status, gateway, link_device, wait_for
from .media_samples import png

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
PEER = "60198765432"


def _message(text: str) -> dict[str, str]:
    return {"token": TOKEN, "to": PEER, "text": text}


async def _sent_texts(client) -> list[str]:
    status, body = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert status == 200, body
    return [m["text"] for m in body["data"]["messages"]]


async def _send(client, body: dict[str, str], key: str):
    resp = await client.post("/messages", json=body, headers={**AUTH, "Idempotency-Key": key})
    return resp.status, await resp.json(), resp.headers


async def test_a_repeated_key_answers_the_first_response_and_sends_once_also_after_a_restart(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    status, first, headers = await _send(client, _message("once"), "order-1")
    assert status == 200, first
    assert "Idempotent-Replayed" not in headers
    status, again, headers = await _send(client, _message("once"), "order-1")
    assert status == 200
    assert headers["Idempotent-Replayed"] == "true"
    assert again["data"]["messageId"] == first["data"]["messageId"]
    assert await _sent_texts(client) == ["once"]
    await listener.close()
    await client.close()

    restarted = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))
    status, after, _ = await _send(restarted, _message("once"), "order-1")
    assert status == 200
    assert after["data"]["messageId"] == first["data"]["messageId"]

    async def restored() -> bool:
        return await device_status(restarted, TOKEN) == "connected"

    await wait_for(restored, what="the device restored")
    assert await _sent_texts(restarted) == ["once"]


async def test_the_same_key_for_another_request_is_422_and_sends_nothing(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    assert (await _send(client, _message("first"), "k"))[0] == 200
    status, body, _ = await _send(client, _message("second"), "k")
    assert (status, body["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert await _sent_texts(client) == ["first"]
    await listener.close()


async def test_a_repeat_while_the_first_runs_is_409(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=1500)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    first = asyncio.create_task(_send(client, _message("slow"), "k"))

    async def in_worker() -> bool:
        _, body = await api(client, "GET", "/health/detailed")
        return body["data"]["worker"]["pendingRequests"] >= 1

    await wait_for(in_worker, what="the first send in the worker")
    status, body, _ = await _send(client, _message("slow"), "k")
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_IN_PROGRESS")
    assert (await first)[0] == 200
    assert await _sent_texts(client) == ["slow"]
    await listener.close()


async def test_a_failed_send_keeps_nothing_and_a_bad_key_is_400(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    status, body, _ = await _send(client, _message("early"), "k")
    assert (status, body["error"]["code"]) == (404, "DEVICE_NOT_FOUND")
    await link_device(client, TOKEN, listener)
    assert (await _send(client, _message("early"), "k"))[0] == 200
    assert await _sent_texts(client) == ["early"]
    for bad in ("", "x" * 256, "caf\u00e9"):
        status, body, _ = await _send(client, _message("no"), bad)
        assert (status, body["error"]["code"]) == (400, "INVALID_IDEMPOTENCY_KEY"), bad
    assert await _sent_texts(client) == ["early"]
    await listener.close()


async def test_a_media_send_with_a_key_goes_out_once(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    image = base64.b64encode(png()).decode()
    body = {"token": TOKEN, "to": PEER, "type": "image", "base64": image, "caption": "pic"}
    answers = []
    for _ in range(2):
        resp = await client.post("/messages/media", json=body, headers={**AUTH, "Idempotency-Key": "m"})
        answers.append((resp.status, await resp.json()))
    assert [status for status, _ in answers] == [200, 200], answers
    assert answers[0][1]["data"]["messageId"] == answers[1][1]["data"]["messageId"]
    status, sent = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
    assert status == 200
    assert len(sent["data"]["messages"]) == 1
    await listener.close()


async def test_the_whatsapp_id_comes_from_the_key_so_a_retry_the_gateway_forgot_is_not_sent_twice(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    # A send answered 503 SEND_OUTCOME_UNKNOWN keeps no record of its key (only successes are kept), so
    # its retry runs again; deleting the record stands in for that. The retry carries the same message
    # id, and WhatsApp (here the sandbox) drops a message whose id it already has (docs/durability.md).
    client, settings = await gateway(aiohttp_client, make_settings)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    status, first, _ = await _send(client, _message("once"), "order-7")
    assert status == 200, first
    message_id = first["data"]["messageId"]
    assert message_id.startswith("3EB0") and len(message_id) == 22 and message_id == message_id.upper()
    status, other, _ = await _send(client, _message("other"), "order-8")
    assert status == 200 and other["data"]["messageId"] != message_id
    await listener.close()
    await client.close()

    for suffix in ("", "-wal", "-shm"):
        (settings.data_dir / f"idempotency.db{suffix}").unlink(missing_ok=True)
    restarted = await aiohttp_client(create_app(settings, engine_options=FAST_ENGINE))

    async def restored() -> bool:
        return await device_status(restarted, TOKEN) == "connected"

    await wait_for(restored, what="the device restored")
    status, retried, headers = await _send(restarted, _message("once"), "order-7")
    assert status == 200, retried
    assert "Idempotent-Replayed" not in headers  # the gateway ran it again ...
    assert retried["data"]["messageId"] == message_id  # ... and WhatsApp saw the same message
    assert await _sent_texts(restarted) == ["once", "other"]
    status, unkeyed = await _send_unkeyed(restarted, _message("once"))
    assert status == 200 and unkeyed["data"]["messageId"] != message_id
    assert await _sent_texts(restarted) == ["once", "other", "once"]


async def _send_unkeyed(client, body: dict[str, str]):
    resp = await client.post("/messages", json=body, headers=AUTH)
    return resp.status, await resp.json()
