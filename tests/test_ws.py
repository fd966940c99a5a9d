"""The WebSocket: every seed auth case, origins, broadcasts, eviction, subscribe, shutdown."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway import keys
from wa_gateway.app import create_app
from wa_gateway.events import catalog
from wa_gateway.events.model import encode_event

from .conftest import API_KEY, SettingsFactory

AUTH_MSG = {"type": "auth", "apiKey": API_KEY}


async def _client(aiohttp_client: AiohttpClient, settings):
    app = create_app(settings)
    return app, await aiohttp_client(app)


async def _authed(client, **kwargs) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/ws", **kwargs)
    await ws.send_json(AUTH_MSG)
    assert await ws.receive_json(timeout=5) == {"type": "auth", "success": True}
    return ws


async def _publish(app, event: str, token: str, data=None, message=None) -> int:
    return app[keys.HUB_KEY].publish(event, token, encode_event(event, token, data, message))


async def test_valid_auth_then_broadcast(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    ws = await _authed(client)
    assert await _publish(app, "qrcode", "60123456789", "test-qr-data") == 1
    assert await ws.receive_json(timeout=5) == {
        "event": "qrcode",
        "token": "60123456789",
        "data": "test-qr-data",
    }
    await _publish(app, "connection-error", "60123456789", message="Disconnected")
    assert await ws.receive_json(timeout=5) == {
        "event": "connection-error",
        "token": "60123456789",
        "message": "Disconnected",
    }
    await ws.close()


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ({"type": "auth", "apiKey": "wrong-key"}, "Invalid API key"),
        ({"type": "auth", "apiKey": ""}, "API key is required"),
        ({"type": "auth"}, "API key is required"),
        ({"type": "subscribe", "apiKey": API_KEY}, "First message must be auth"),
        ({"type": "Auth", "apiKey": API_KEY}, "First message must be auth"),
        ({"type": "auth", "apiKey": 12345}, "Invalid message format"),
        ("not json", "Invalid message format"),
        ("[1, 2]", "Invalid message format"),
        ("null", "First message must be auth"),
        ({"type": "auth", "apiKey": "x" * 1100}, "Message too large"),
    ],
)
async def test_auth_failures(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, first, reason: str
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")
    if isinstance(first, str):
        await ws.send_str(first)
    else:
        await ws.send_json(first)
    assert await ws.receive_json(timeout=5) == {"type": "auth", "success": False, "message": reason}
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code in (1008, 1009)
    assert len(app[keys.HUB_KEY]) == 0


async def test_key_names_match_case_insensitively(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")
    await ws.send_json({"TYPE": "auth", "APIKEY": API_KEY})
    assert await ws.receive_json(timeout=5) == {"type": "auth", "success": True}
    await ws.close()


async def test_first_message_over_read_limit_closes_1009(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")
    await ws.send_str("x" * 5000)
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1009


async def test_auth_timeout(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    settings = dataclasses.replace(make_settings(), ws_auth_timeout=0.2)
    _, client = await _client(aiohttp_client, settings)
    ws = await client.ws_connect("/ws")
    reply = await ws.receive_json(timeout=5)
    assert reply == {"type": "auth", "success": False, "message": "Authentication timeout"}
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE


async def test_not_an_upgrade_is_426(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    _, client = await _client(aiohttp_client, make_settings())
    resp = await client.get("/ws")
    body = await resp.json()
    assert resp.status == 426
    assert body["error"]["code"] == "UPGRADE_REQUIRED" and body["success"] is False


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("HTTP://LOCALHOST:3000", True),
        ("https://app.example.com", True),
        ("https://localhost:3000", False),
        ("http://evil.com", False),
        (None, False),
    ],
)
async def test_origin_allow_list(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, origin: str | None, allowed: bool
) -> None:
    settings = make_settings(WS_ALLOWED_ORIGINS="http://localhost:3000, https://app.example.com")
    _, client = await _client(aiohttp_client, settings)
    headers = {"Origin": origin} if origin else {}
    if allowed:
        ws = await _authed(client, headers=headers)
        await ws.close()
        return
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws", headers=headers)
    assert info.value.status == 403
    resp = await client.get(
        "/ws",
        headers={
            **headers,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    body = await resp.json()
    assert body["error"] == {"code": "FORBIDDEN", "message": "Origin not allowed"}


async def test_wildcard_allows_a_missing_origin(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings(WS_ALLOWED_ORIGINS="*"))
    ws = await _authed(client)
    await ws.close()


async def test_broadcasts_reach_only_authenticated_clients(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    authed = [await _authed(client) for _ in range(2)]
    pending = await client.ws_connect("/ws")
    assert app[keys.HUB_KEY].connections == 3
    assert await _publish(app, "connection-success", "60123456789") == 2
    for ws in authed:
        assert await ws.receive_json(timeout=5) == {"event": "connection-success", "token": "60123456789"}
    # The unauthenticated socket got nothing: its first frame is the answer to its (late) auth.
    await pending.send_json(AUTH_MSG)
    assert await pending.receive_json(timeout=5) == {"type": "auth", "success": True}
    for ws in [*authed, pending]:
        await ws.close()


async def test_slow_client_is_evicted_while_others_keep_receiving(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings(WS_QUEUE_SIZE=8))
    hub = app[keys.HUB_KEY]
    slow = await _authed(client)  # never reads again: aiohttp stops reading its socket when full
    fast = await _authed(client)
    payload = "q" * 65536
    frames = 400
    received = 0

    async def read_fast() -> None:
        nonlocal received
        while received < frames:
            msg = await fast.receive_json(timeout=10)
            assert msg["data"] == payload
            received += 1

    reader = asyncio.create_task(read_fast())
    for _ in range(frames):
        await _publish(app, "qrcode", "60123456789", payload)
        await asyncio.sleep(0)
    await asyncio.wait_for(reader, 30)
    assert received == frames
    assert hub.evicted == 1 and len(hub) == 1
    # The evicted client ends with our close code once it drains what was already sent.
    while True:
        msg = await slow.receive(timeout=10)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            break
    assert slow.close_code in (4008, 1006)
    await fast.close()


async def test_subscribe_narrows_tokens_and_adds_events(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    ws = await _authed(client)
    await ws.send_json({"type": "subscribe", "tokens": ["60111111111"], "events": ["*"]})
    reply = await ws.receive_json(timeout=5)
    assert reply == {"type": "subscribe", "success": True, "tokens": ["60111111111"], "events": ["*"]}
    assert await _publish(app, "qrcode", "60222222222", "other-device") == 0
    assert await _publish(app, "message.received", "60111111111", {"text": "hi"}) == 1
    assert (await ws.receive_json(timeout=5))["event"] == "message.received"

    await ws.send_json({"type": "subscribe", "events": ["no.such.event"]})
    bad = await ws.receive_json(timeout=5)
    assert bad["success"] is False and "events must be" in bad["message"]
    await ws.send_json({"type": "subscribe", "tokens": ["abc"]})
    assert (await ws.receive_json(timeout=5))["success"] is False
    await ws.send_json({"type": "ping"})
    assert await ws.receive_json(timeout=5) == {"type": "pong"}
    await ws.close()


async def test_default_subscription_gets_only_seed_events(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    ws = await _authed(client)
    assert await _publish(app, "message.received", "60111111111", {"text": "hi"}) == 0
    assert await _publish(app, "pairing-code", "60111111111", {"code": "ABCD-EFGH"}) == 1
    assert (await ws.receive_json(timeout=5))["event"] == "pairing-code"
    await ws.close()


async def test_replay_is_sent_right_after_auth(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    app, client = await _client(aiohttp_client, make_settings())
    app[keys.HUB_KEY].set_replay(lambda: [catalog.QRCODE("60111111111", "2@current")])
    ws = await _authed(client)
    assert await ws.receive_json(timeout=5) == {
        "event": "qrcode",
        "token": "60111111111",
        "data": "2@current",
    }
    await ws.close()


async def test_wrong_ws_keys_count_as_auth_failures(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings(RATE_LIMIT_AUTH_FAILURES=2))
    for _ in range(2):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "auth", "apiKey": "guess"})
        assert (await ws.receive_json(timeout=5))["message"] == "Invalid API key"
        await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws")
    assert info.value.status == 429


async def test_shutdown_closes_clients_with_going_away(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings())
    ws = await _authed(client)
    closing = asyncio.create_task(client.server.close())
    msg = await ws.receive(timeout=5)
    await closing
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1001


async def test_same_origin_pages_pass_any_allow_list(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    """The dashboard served by the gateway itself needs no WS_ALLOWED_ORIGINS entry."""
    _, client = await _client(aiohttp_client, make_settings(WS_ALLOWED_ORIGINS="https://app.example.com"))
    own = f"http://{client.server.host}:{client.server.port}"
    ws = await _authed(client, headers={"Origin": own})
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect("/ws", headers={"Origin": f"http://{client.server.host}:1"})


async def test_read_limit_is_4096_bytes_as_in_the_go_gateway(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings())
    # A first message of exactly 4096 bytes is read, and is too large for auth.
    ws = await client.ws_connect("/ws")
    await ws.send_str("x" * 4096)
    assert await ws.receive_json(timeout=5) == {
        "type": "auth",
        "success": False,
        "message": "Message too large",
    }
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    # After auth a 4096-byte message is read and thrown away; the connection stays open.
    ws = await _authed(client)
    await ws.send_str(" " * 4096)
    await ws.send_json({"type": "ping"})
    assert await ws.receive_json(timeout=5) == {"type": "pong"}
    # One byte more is over the limit: closed with 1009.
    await ws.send_str(" " * 4097)
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1009


async def test_a_host_header_does_not_make_an_origin_same_origin(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    _, client = await _client(aiohttp_client, make_settings(WS_ALLOWED_ORIGINS="https://app.example.com"))
    port = client.server.port
    for host in (f"evil.example:{port}", f"127.0.0.1.nip.io:{port}"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.ws_connect("/ws", headers={"Origin": f"http://{host}", "Host": host})
        assert info.value.status == 403
    # The gateway's own loopback address by name is still the dashboard's origin.
    ws = await _authed(client, headers={"Origin": f"http://localhost:{port}"})
    await ws.close()
