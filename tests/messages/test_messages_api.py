"""The message store through the real gateway and sandbox worker: what is stored, the routes, their errors."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from ..conftest import SettingsFactory
from ..harness import WsListener, api, gateway, link_device, wait_for

TOKEN = "60123456789"
OTHER = "60111111111"
ALICE = "60100000001"
BOB = "60100000002"
ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


async def linked(aiohttp_client: AiohttpClient, make_settings: SettingsFactory, **env: Any) -> TestClient:
    client, _ = await gateway(aiohttp_client, make_settings, **env)
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    await listener.close()
    return client


async def incoming(client: TestClient, sender: str, text: str, **extra: Any) -> str:
    status, body = await api(
        client, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": sender, "text": text, **extra}
    )
    assert status == 200, body
    mid: str = body["data"]["id"]
    return mid


async def stored(client: TestClient, mid: str) -> dict[str, Any] | None:
    status, body = await api(client, "GET", f"/messages/{TOKEN}/{mid}")
    if status == 404:
        assert body["error"]["code"] == "MESSAGE_NOT_FOUND"
        return None
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


async def page(client: TestClient, query: str = "") -> dict[str, Any]:
    status, body = await api(client, "GET", f"/messages/{TOKEN}{query}")
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


async def test_received_and_sent_messages_are_stored_with_their_receipts_edits_and_reactions(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings)
    first = await incoming(client, ALICE, "hello there", pushName="Alice")
    got = await wait_for(lambda: stored(client, first), what="the incoming message stored")
    assert got["text"] == "hello there" and got["from"] == ALICE_JID and got["chat"] == ALICE_JID
    assert got["fromMe"] is False and got["source"] == "live" and got["status"] == "received"
    assert got["pushName"] == "Alice"

    status, body = await api(
        client, "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "hi Alice", "replyTo": first}
    )
    assert status == 200, body
    sent_id = body["data"]["messageId"]
    mine = await stored(client, sent_id)
    assert mine is not None, "a send is stored before its reply goes out"
    assert mine["fromMe"] is True and mine["source"] == "sent" and mine["status"] == "sent"
    assert mine["chat"] == ALICE_JID and mine["replyTo"] == first and mine["text"] == "hi Alice"

    receipt = {"from": ALICE, "type": "read", "messageIds": [sent_id]}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/receipts", receipt))[0] == 200

    async def read() -> bool:
        found = await stored(client, sent_id)
        return found is not None and found["status"] == "read"

    await wait_for(read, what="the read receipt stored")

    reaction = {"from": ALICE, "targetId": sent_id, "emoji": "👍"}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/reactions", reaction))[0] == 200
    status, body = await api(
        client, "PATCH", f"/messages/{sent_id}", {"token": TOKEN, "chat": ALICE, "text": "hi, Alice"}
    )
    assert status == 200, body

    async def reacted_and_edited() -> dict[str, Any] | None:
        found = await stored(client, sent_id)
        return found if found and found["reactions"] and found["editedAt"] else None

    done = await wait_for(reacted_and_edited, what="reaction and edit stored")
    assert done["text"] == "hi, Alice"
    assert [(r["from"], r["emoji"]) for r in done["reactions"]] == [(ALICE_JID, "👍")]

    status, body = await api(client, "DELETE", f"/messages/{sent_id}", {"token": TOKEN, "chat": ALICE})
    assert status == 200, body
    revoked = await stored(client, sent_id)
    assert revoked is not None and revoked["revokedAt"] is not None and revoked["text"] == ""


async def test_chats_list_last_message_unread_and_name(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings, AUTO_READ_RECEIPT="false")
    await incoming(client, ALICE, "one", pushName="Alice")
    await incoming(client, ALICE, "two", pushName="Alice")
    last = await incoming(client, BOB, "from bob", pushName="Bob")
    await wait_for(lambda: stored(client, last), what="the last message stored")
    status, body = await api(client, "GET", f"/chats/{TOKEN}")
    assert status == 200, body
    chats = body["data"]["chats"]
    assert [(c["jid"], c["name"], c["unread"], c["lastMessage"]["text"]) for c in chats] == [
        (BOB_JID, "Bob", 1, "from bob"),
        (ALICE_JID, "Alice", 2, "two"),
    ]
    status, body = await api(
        client, "POST", "/messages/read", {"token": TOKEN, "chat": ALICE, "messageIds": [last]}
    )
    assert status == 200, body
    status, body = await api(client, "GET", f"/chats/{TOKEN}?limit=1")
    assert [(c["jid"], c["unread"]) for c in body["data"]["chats"]] == [(BOB_JID, 1)]
    status, body = await api(client, "GET", f"/chats/{TOKEN}")
    assert [(c["jid"], c["unread"]) for c in body["data"]["chats"]] == [(BOB_JID, 1), (ALICE_JID, 0)]


async def test_pages_walk_back_with_next_cursor_and_filter_by_chat(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings)
    ids = [await incoming(client, ALICE if i % 2 else BOB, f"m{i}") for i in range(7)]
    await wait_for(lambda: stored(client, ids[-1]), what="all stored")
    seen: list[str] = []
    query = "?limit=3"
    while True:
        data = await page(client, query)
        seen += [m["id"] for m in data["messages"]]
        if data["nextCursor"] is None:
            break
        query = f"?limit=3&before={data['nextCursor']}"
    assert seen == list(reversed(ids))
    alice = await page(client, f"?chat={ALICE}")
    assert [m["id"] for m in alice["messages"]] == [ids[5], ids[3], ids[1]]
    assert alice["nextCursor"] is None
    newer = await page(client, f"?after={alice['messages'][1]['cursor']}")
    assert [m["id"] for m in newer["messages"]] == [ids[6], ids[5], ids[4]]


async def test_bad_parameters_get_clear_400s_and_unknown_things_404s(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings)
    cases = {
        f"/messages/{TOKEN}?limit=0": "'limit'",
        f"/messages/{TOKEN}?limit=501": "'limit'",
        f"/messages/{TOKEN}?limit=ten": "'limit'",
        f"/messages/{TOKEN}?before=nonsense": "'before'",
        f"/messages/{TOKEN}?after=%25%25": "'after'",
        f"/messages/{TOKEN}?chat=not-a-chat": "Invalid chat",
        f"/chats/{TOKEN}?limit=1001": "'limit'",
        "/messages/12ab": "Token must be",
        "/chats/12": "Token must be",
    }
    for path, says in cases.items():
        status, body = await api(client, "GET", path)
        assert status == 400, (path, body)
        assert says in body["error"]["message"], (path, body)
    for path, code in {
        f"/messages/{OTHER}": "DEVICE_NOT_FOUND",
        f"/chats/{OTHER}": "DEVICE_NOT_FOUND",
        f"/messages/{TOKEN}/NOSUCHID": "MESSAGE_NOT_FOUND",
    }.items():
        status, body = await api(client, "GET", path)
        assert (status, body["error"]["code"]) == (404, code), (path, body)


async def test_history_sync_messages_are_stored_within_the_retention(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings, MESSAGE_RETENTION_DAYS=7)
    history = {
        "contacts": [{"phone": ALICE, "name": "Alice"}],
        "messages": [
            {"id": "HIST1", "from": ALICE, "text": "from last week", "timestamp": "2000-01-01T00:00:00Z"},
            {"id": "HIST2", "from": ALICE, "text": "yesterday's"},
            {"id": "HIST3", "fromMe": True, "chat": ALICE, "text": "my answer"},
        ],
    }
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/history-sync", history)
    assert status == 200, body
    mine = await wait_for(lambda: stored(client, "HIST3"), what="history stored")
    assert mine["fromMe"] is True and mine["source"] == "history" and mine["chat"] == ALICE_JID
    assert (await stored(client, "HIST2")) is not None
    assert await stored(client, "HIST1") is None, "older than MESSAGE_RETENTION_DAYS is not stored"
    status, body = await api(client, "GET", f"/chats/{TOKEN}")
    (chat,) = body["data"]["chats"]
    assert chat["unread"] == 0, "history is not unread"
    bad = {"messages": [{"from": ALICE, "text": "x", "timestamp": "yesterday"}]}
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/history-sync", bad)
    assert status == 400 and "timestamp" in body["error"]["message"]


async def test_deleting_a_device_removes_its_messages(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings)
    mid = await incoming(client, ALICE, "soon gone")
    await wait_for(lambda: stored(client, mid), what="stored")
    assert (await api(client, "DELETE", f"/devices/{TOKEN}"))[0] == 200
    listener = await WsListener.open(client)
    await link_device(client, TOKEN, listener)
    await listener.close()
    assert await stored(client, mid) is None
    assert (await page(client))["messages"] == []


async def test_retention_zero_turns_the_store_off(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, settings = await gateway(aiohttp_client, make_settings, MESSAGE_RETENTION_DAYS=0)
    listener = await WsListener.open(client, subscribe={"events": ["*"]})
    await link_device(client, TOKEN, listener)
    await incoming(client, ALICE, "not kept")
    await listener.next("message.received", TOKEN)
    await listener.close()
    status, body = await api(client, "GET", f"/messages/{TOKEN}")
    assert (status, body["error"]["code"]) == (404, "MESSAGE_STORE_OFF")
    assert not (settings.data_dir / "messages.db").exists()


async def test_a_key_needs_messages_read_and_its_device(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await linked(aiohttp_client, make_settings)

    async def key(scopes: list[str]) -> dict[str, str]:
        status, body = await api(client, "POST", "/keys", {"name": "k", "scopes": scopes, "devices": [TOKEN]})
        assert status == 201, body
        return {"Authorization": f"Bearer {body['data']['key']}"}

    reader, sender = await key(["messages:read"]), await key(["messages:send"])
    for path in (f"/messages/{TOKEN}", f"/chats/{TOKEN}", f"/messages/{TOKEN}/ABC"):
        assert (await client.get(path, headers=sender)).status == 403, path
        assert (await client.get(path, headers=reader)).status in (200, 404), path
        other = path.replace(TOKEN, OTHER)
        assert (await client.get(other, headers=reader)).status == 403, other
