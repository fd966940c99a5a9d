"""Both SandboxStore implementations give the same answers (sqlite files, PostgreSQL tables)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wa_gateway.backends.sandbox.postgres_store import PostgresSandboxStore
from wa_gateway.backends.sandbox.store import SandboxStore, SentMessage, SqliteSandboxStore

TOKEN = "60123456789"
OTHER = "60198765432"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SandboxStore]:
    built: SandboxStore
    if request.param == "postgres":
        built = PostgresSandboxStore(request.getfixturevalue("postgres_url"), tmp_path)
    else:
        built = SqliteSandboxStore(tmp_path)
    await built.open()
    yield built
    await built.close()


async def test_sessions_pairing_and_deletion(store: SandboxStore) -> None:
    assert await store.load_session(TOKEN) is None
    assert not await store.session_exists(TOKEN)
    created = await store.create_session(TOKEN)
    assert (created.jid, created.paired) == ("", False)
    await store.save_pairing(TOKEN, f"{TOKEN}@s.whatsapp.net", "Ann", 5.0)
    await store.create_session(OTHER)
    loaded = await store.load_session(TOKEN)
    assert loaded is not None and (loaded.jid, loaded.push_name, loaded.paired) == (
        f"{TOKEN}@s.whatsapp.net",
        "Ann",
        True,
    )
    assert await store.list_sessions() == [
        {"token": TOKEN, "paired": True},
        {"token": OTHER, "paired": False},
    ]
    assert await store.delete_session(TOKEN) is True
    assert await store.delete_session(TOKEN) is False
    assert await store.list_sessions() == [{"token": OTHER, "paired": False}]


async def test_the_sent_log_in_order(store: SandboxStore) -> None:
    await store.create_session(TOKEN)
    await store.add_sent(TOKEN, SentMessage("m1", "6011", "hi", 1.0, (("composing", 0.5), ("paused", 0.9))))
    await store.add_sent(TOKEN, SentMessage("m2", "6011", "", 2.0, (), {"kind": "reaction", "emoji": "👍"}))
    await store.add_read(TOKEN, ["x1", "x2"])
    await store.add_presence(TOKEN, None, "available", 3.0)
    await store.add_rejected_call(TOKEN, "6022", "call-1", 4.0)
    log = await store.sent_log(TOKEN)
    assert log["messages"] == [
        {
            "id": "m1",
            "to": "6011",
            "text": "hi",
            "timestamp": 1.0,
            "presence": ["composing", "paused"],
            "presenceAt": [0.5, 0.9],
            "kind": "text",
        },
        {
            "id": "m2",
            "to": "6011",
            "text": "",
            "timestamp": 2.0,
            "presence": [],
            "presenceAt": [],
            "kind": "reaction",
            "emoji": "👍",
        },
    ]
    assert log["read"] == ["x1", "x2"]
    assert log["presence"] == [{"to": None, "state": "available", "at": 3.0}]
    assert log["rejectedCalls"] == [{"from": "6022", "callId": "call-1", "at": 4.0}]
    assert (await store.sent_log(OTHER))["messages"] == []


async def test_groups_and_numbers(store: SandboxStore) -> None:
    await store.create_session(TOKEN)
    groups = [{"jid": "1@g.us", "name": "a"}, {"jid": "2@g.us", "name": "b"}]
    await store.set_groups(TOKEN, groups)
    assert await store.groups(TOKEN) == groups
    await store.set_groups(TOKEN, groups[1:])
    assert await store.groups(TOKEN) == groups[1:]
    await store.set_number("6011", False)
    await store.set_number("6012", True)
    await store.set_number("6011", False)
    assert await store.registered_numbers(["6011", "6012", "6013", "6011"]) == {
        "6011": False,
        "6012": True,
        "6013": True,
    }


async def test_queued_sends_keep_their_order_and_are_found_by_id(store: SandboxStore) -> None:
    await store.create_session(TOKEN)
    sent = [SentMessage(f"m{i}", "6011", f"t{i}", float(i), (("composing", 0.5),)) for i in range(12)]
    commits = [store.queue_sent(TOKEN, message) for message in sent]
    # Found by id before and after its row is committed: a keyed retry must not send again.
    assert await store.find_sent(TOKEN, "m11") == sent[11]
    await asyncio.gather(*commits)
    assert await store.find_sent(TOKEN, "m3") == sent[3]
    assert await store.find_sent(TOKEN, "nope") is None
    assert [m["id"] for m in (await store.sent_log(TOKEN))["messages"]] == [f"m{i}" for i in range(12)]
