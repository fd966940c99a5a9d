"""The same behaviour from each store's sqlite and PostgreSQL implementations (real files, real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wa_gateway.apikeys.store import KeyRecord
from wa_gateway.clock import ManualClock
from wa_gateway.contacts.model import ContactRow
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.db.stores import Stores, build_stores
from wa_gateway.webhooks.targets import WebhookTarget

TOKEN = "60123456789"
OTHER = "60198765432"


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    clock = ManualClock()
    database = None
    if request.param == "postgres":
        database = PostgresDatabase(request.getfixturevalue("postgres_url"), pool_size=3)
        await database.open()
    built = build_stores(tmp_path, database, "node-a", clock)
    for store in (built.keys, built.idempotency, built.targets, built.contacts):
        await store.open()
    yield built
    await built.keys.close()
    await built.idempotency.close()
    await built.targets.close()
    await built.contacts.close_all()
    if database is not None:
        await database.close()


async def test_contacts_keep_first_source_and_last_non_empty_name(stores: Stores) -> None:
    book = stores.contacts.get(TOKEN)
    assert await book.upsert_many(
        [("111", "Ann", "history"), ("222", "", "message"), ("111", "", "message")]
    ) == [
        "111",
        "222",
    ]
    assert await book.upsert_many(
        [("111", "Annie", "message"), ("333", "", "message")], now=1_700_000_100
    ) == ["333"]
    rows, total = await book.page(10, 0)
    assert total == 3
    by_phone = {row.phone: row for row in rows}
    assert (by_phone["111"].name, by_phone["111"].source) == ("Annie", "history")
    assert by_phone["111"].first_seen == "2023-11-14T22:13:20Z"
    assert by_phone["111"].last_seen == "2023-11-14T22:15:00Z"
    assert [row.phone for row in rows] == ["111", "333", "222"]  # last_seen DESC, then phone
    # Another device's book is separate, and deleting one leaves the other.
    assert await stores.contacts.get(OTHER).upsert_many([("111", "", "message")]) == ["111"]
    await stores.contacts.delete(TOKEN)
    assert await stores.contacts.get(TOKEN).page(10, 0) == ([], 0)
    assert (await stores.contacts.get(OTHER).page(10, 0))[1] == 1


async def test_contacts_stream_in_page_order(stores: Stores) -> None:
    book = stores.contacts.get(TOKEN)
    await book.upsert_many([(f"6{n:03d}", f"n{n}", "message") for n in range(25)])
    chunks = [chunk async for chunk in book.iter_all(chunk_size=10)]
    assert [len(c) for c in chunks] == [10, 10, 5]
    flat: list[ContactRow] = [row for chunk in chunks for row in chunk]
    assert flat == (await book.page(100, 0))[0]
    csv = b"".join([part async for part in book.iter_csv(chunk_size=7)])
    assert csv.count(b"\n") == 25
    with pytest.raises(ValueError):
        stores.contacts.get("../etc")


async def test_idempotency_claims(stores: Stores) -> None:
    store = stores.idempotency
    assert (await store.begin("s", "k", "fp", 100.0)).outcome == "new"
    assert (await store.begin("s", "k", "fp", 101.0)).outcome == "running"
    assert (await store.begin("s", "k", "other", 101.0)).outcome == "reused"
    await store.finish("s", "k", 201, b'{"ok":true}')
    done = await store.begin("s", "k", "fp", 102.0)
    assert (done.outcome, done.status, done.body) == ("done", 201, b'{"ok":true}')
    await store.abandon("s", "k")
    assert (await store.begin("s", "k", "fp", 103.0)).outcome == "new"
    # Forgotten after the TTL.
    assert (await store.begin("s", "k", "fp", 103.0 + 24 * 3600 + 1)).outcome == "new"


async def test_api_keys(stores: Stores) -> None:
    record = KeyRecord(
        "k1", "ci", b"\x01" * 32, "wag_abc", frozenset({"messages:send"}), frozenset({TOKEN}), "t1"
    )
    unlimited = KeyRecord("k2", "ops", b"\x02" * 32, "wag_def", frozenset({"admin"}), None, "t2")
    await stores.keys.add(record)
    await stores.keys.add(unlimited)
    assert await stores.keys.all() == [record, unlimited]
    assert await stores.keys.remove("k1") is True
    assert await stores.keys.remove("k1") is False
    assert await stores.keys.all() == [unlimited]


async def test_webhook_targets(stores: Stores) -> None:
    target = WebhookTarget(TOKEN, "https://example.test/a", "s3cret", ("message.*",))
    await stores.targets.put(target)
    moved = WebhookTarget(TOKEN, "https://example.test/b", "other", ("*",))
    await stores.targets.put(moved)
    assert await stores.targets.all() == [moved]
    assert await stores.targets.delete(TOKEN) is True
    assert await stores.targets.delete(TOKEN) is False
    assert await stores.targets.all() == []
