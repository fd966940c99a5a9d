"""ContactStore / ContactStores against real sqlite files: upsert rules, paging, export, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from tests.contacts.contacts_harness import TOKEN, contact_threads
from wa_gateway.clock import ManualClock
from wa_gateway.contacts import ContactRow, ContactStoreError, ContactStores
from wa_gateway.contacts.store import contacts_path

T0 = "2023-11-14T22:13:20Z"  # ManualClock's wall time at start


def _sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(statement).fetchall()


async def test_upsert_reports_only_phones_not_seen_before(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    assert await store.upsert_many([("111", "Ann", "message"), ("222", "", "message")]) == ["111", "222"]
    assert await store.upsert_many([("222", "Bob", "history"), ("333", "", "history")]) == ["333"]
    assert await store.upsert_many([("111", "", "message")]) == []
    assert await store.upsert_many([]) == []
    rows, total = await store.page(10, 0)
    assert total == 3
    assert {row.phone for row in rows} == {"111", "222", "333"}


async def test_a_phone_twice_in_one_batch_is_new_once_and_keeps_its_last_name(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    batch = [("111", "", "history"), ("222", "B", "history"), ("111", "Ann", "message")]
    assert await store.upsert_many(batch) == ["111", "222"]
    rows, _ = await store.page(10, 0)
    assert {row.phone: (row.name, row.source) for row in rows} == {
        "111": ("Ann", "history"),
        "222": ("B", "history"),
    }


async def test_name_source_and_times_follow_the_upsert_rule(
    stores: ContactStores, clock: ManualClock
) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([("111", "Ann", "message")])
    clock.advance(60)
    await store.upsert_many([("111", "", "history")])
    rows, _ = await store.page(1, 0)
    assert rows == [ContactRow("111", "Ann", "message", T0, "2023-11-14T22:14:20Z")]

    clock.advance(60)
    await store.upsert_many([("111", "Annie", "history")])
    rows, _ = await store.page(1, 0)
    assert rows == [ContactRow("111", "Annie", "message", T0, "2023-11-14T22:15:20Z")]


async def test_explicit_now_is_used_for_the_timestamps(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([("111", "", "message")], now=0.0)
    rows, _ = await store.page(1, 0)
    assert (rows[0].first_seen, rows[0].last_seen) == ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z")


async def test_pages_are_most_recent_first_and_stable_among_equal_times(
    stores: ContactStores, clock: ManualClock
) -> None:
    store = stores.get(TOKEN)
    same_second = ["555", "111", "999", "333", "777", "222", "888", "444", "666"]
    await store.upsert_many([(phone, "", "history") for phone in same_second])
    clock.advance(5)
    await store.upsert_many([("000", "", "message")])

    pages = []
    for offset in range(0, 12, 4):
        rows, total = await store.page(4, offset)
        assert total == 10
        pages.append([row.phone for row in rows])
    assert pages == [["000", "111", "222", "333"], ["444", "555", "666", "777"], ["888", "999"]]
    # Asking again gives the same answer: the order does not depend on how sqlite happens to walk.
    again = [row.phone for row in (await store.page(10, 0))[0]]
    assert again == [phone for page in pages for phone in page]
    assert (await store.page(5, 50)) == ([], 10)


async def test_file_schema_and_pragmas_match_the_layout(stores: ContactStores, tmp_path: Path) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([("111", "", "message")])
    path = tmp_path / "contacts" / f"{TOKEN}.db"
    assert store.path == path
    columns = await asyncio.to_thread(_sql, path, "PRAGMA table_info(contacts)")
    assert [(c[1], c[2], c[4], c[5]) for c in columns] == [
        ("phone", "TEXT", None, 1),
        ("name", "TEXT", "''", 0),
        ("source", "TEXT", "'message'", 0),
        ("first_seen", "DATETIME", "CURRENT_TIMESTAMP", 0),
        ("last_seen", "DATETIME", "CURRENT_TIMESTAMP", 0),
    ]
    assert await asyncio.to_thread(_sql, path, "PRAGMA journal_mode") == [("wal",)]
    plan = await asyncio.to_thread(
        _sql, path, "EXPLAIN QUERY PLAN SELECT * FROM contacts ORDER BY last_seen DESC, phone ASC LIMIT 5"
    )
    assert "contacts_by_last_seen" in " ".join(str(step[-1]) for step in plan)
    assert "TEMP B-TREE" not in " ".join(str(step[-1]) for step in plan)


async def test_a_go_gateway_file_opens_and_keeps_its_rows(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "contacts" / f"{TOKEN}.db"
    path.parent.mkdir()

    def write_go_file() -> None:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(
                "CREATE TABLE contacts (phone TEXT PRIMARY KEY, name TEXT DEFAULT '', "
                "source TEXT DEFAULT 'message', first_seen DATETIME DEFAULT CURRENT_TIMESTAMP, "
                "last_seen DATETIME DEFAULT CURRENT_TIMESTAMP)"
            )
            conn.execute("INSERT INTO contacts VALUES ('111', 'Old', 'history', ?, ?)", (T0, T0))
            conn.commit()

    await asyncio.to_thread(write_go_file)
    stores = ContactStores(tmp_path, clock)
    try:
        store = stores.get(TOKEN)
        assert await store.upsert_many([("111", "", "message"), ("222", "", "message")]) == ["222"]
        rows, total = await store.page(10, 0)
        assert total == 2
        assert ContactRow("111", "Old", "history", T0, T0) in rows
    finally:
        await stores.close_all()


async def test_rows_survive_close_and_reopen(stores: ContactStores) -> None:
    await stores.get(TOKEN).upsert_many([("111", "Ann", "message")])
    await stores.close(TOKEN)
    assert contact_threads() == []
    rows, total = await stores.get(TOKEN).page(10, 0)
    assert (total, [row.name for row in rows]) == (1, ["Ann"])


async def test_a_closed_store_refuses_work(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([("111", "", "message")])
    await stores.close(TOKEN)
    with pytest.raises(ContactStoreError):
        await store.page(10, 0)
    with pytest.raises(ContactStoreError):
        await store.upsert_many([("222", "", "message")])
    assert stores.get(TOKEN) is not store


async def test_delete_removes_the_database_and_its_side_files(stores: ContactStores, tmp_path: Path) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([("111", "", "message")])
    # The WAL and shared-memory files exist while the store is open.
    names = {p.name for p in (tmp_path / "contacts").iterdir()}
    assert {f"{TOKEN}.db", f"{TOKEN}.db-wal", f"{TOKEN}.db-shm"} <= names
    await stores.delete(TOKEN)
    assert list((tmp_path / "contacts").iterdir()) == []
    assert contact_threads() == []
    assert await stores.get(TOKEN).page(10, 0) == ([], 0)


async def test_delete_of_a_store_never_opened_in_this_process(tmp_path: Path, clock: ManualClock) -> None:
    first = ContactStores(tmp_path, clock)
    await first.get(TOKEN).upsert_many([("111", "", "message")])
    await first.close_all()
    second = ContactStores(tmp_path, clock)
    await second.delete(TOKEN)
    assert list((tmp_path / "contacts").iterdir()) == []
    await second.delete(TOKEN)  # nothing left to delete is fine
    await second.close_all()


async def test_a_store_reopened_during_delete_starts_empty(stores: ContactStores) -> None:
    await stores.get(TOKEN).upsert_many([("111", "", "message")])
    deleting = asyncio.ensure_future(stores.delete(TOKEN))
    await asyncio.sleep(0)
    reopened = stores.get(TOKEN)
    assert await reopened.upsert_many([("222", "", "message")]) == ["222"]
    await deleting
    assert [row.phone for row in (await reopened.page(10, 0))[0]] == ["222"]


def test_tokens_that_are_not_file_safe_are_refused(stores: ContactStores, tmp_path: Path) -> None:
    for token in ["../60123456789", "601234", "6012345678\n", "٦٠١٢٣٤٥٦٧٨٩", "60123456789.db", ""]:
        with pytest.raises(ValueError):
            stores.get(token)
        with pytest.raises(ValueError):
            contacts_path(tmp_path, token)


async def test_concurrent_upserts_each_learn_their_own_new_phones(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    # A large batch keeps the thread busy so the single-row upserts queue up and are committed together.
    big = store.upsert_many([(f"9{i:08d}", "", "history") for i in range(20_000)])
    singles = [store.upsert_many([(f"{i % 50:05d}", f"n{i}", "message")]) for i in range(200)]
    results = await asyncio.gather(big, *singles)
    assert len(results[0]) == 20_000
    reported = [phone for result in results[1:] for phone in result]
    assert sorted(reported) == [f"{i:05d}" for i in range(50)]  # each phone reported new exactly once
    rows, total = await store.page(1000, 0)
    assert total == 20_050
    names = {row.phone: row.name for row in rows}
    assert names["00000"] == "n150"  # the last sighting's name won


async def test_a_bad_job_does_not_sink_the_jobs_batched_with_it(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    big = store.upsert_many([(f"9{i:08d}", "", "history") for i in range(20_000)])
    good_before = store.upsert_many([("111", "", "message")])
    bad = store.upsert_many([("222", object(), "message")])  # type: ignore[list-item]
    good_after = store.upsert_many([("333", "", "message")])
    results = await asyncio.gather(big, good_before, bad, good_after, return_exceptions=True)
    assert results[1] == ["111"]
    assert isinstance(results[2], ContactStoreError)
    assert results[3] == ["333"]
    assert (await store.page(1, 0))[1] == 20_002


async def test_a_cancelled_upsert_is_still_stored(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    big = asyncio.ensure_future(store.upsert_many([(f"9{i:08d}", "", "history") for i in range(20_000)]))
    small = asyncio.ensure_future(store.upsert_many([("111", "Ann", "message")]))
    await asyncio.sleep(0)
    small.cancel()
    await big
    assert small.cancelled()
    rows, total = await store.page(1, 0)  # "111" sorts first among equal times
    assert total == 20_001
    assert rows == [ContactRow("111", "Ann", "message", T0, T0)]


async def test_a_file_that_is_not_a_database_fails_cleanly(tmp_path: Path, stores: ContactStores) -> None:
    path = tmp_path / "contacts" / f"{TOKEN}.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not sqlite" * 1000)
    store = stores.get(TOKEN)
    with pytest.raises(ContactStoreError):
        await store.page(10, 0)
    with pytest.raises(ContactStoreError):
        await store.upsert_many([("111", "", "message")])


async def test_iter_all_yields_every_row_in_page_order(stores: ContactStores, clock: ManualClock) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([(f"{i:04d}", "", "history") for i in range(0, 2500, 2)])
    clock.advance(1)
    await store.upsert_many([(f"{i:04d}", "", "message") for i in range(1, 2500, 2)])
    chunks = [chunk async for chunk in store.iter_all(1000)]
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    streamed = [row.phone for chunk in chunks for row in chunk]
    paged = [row.phone for row in (await store.page(1000, 0))[0]]
    paged += [row.phone for row in (await store.page(1000, 1000))[0]]
    paged += [row.phone for row in (await store.page(1000, 2000))[0]]
    assert streamed == paged
    assert len(set(streamed)) == 2500


async def test_iter_all_reads_one_snapshot_while_writes_go_on(
    stores: ContactStores, clock: ManualClock
) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([(f"{i:04d}", "", "history") for i in range(3000)])
    seen: list[str] = []
    async with contextlib.aclosing(store.iter_all(500)) as chunks:
        async for chunk in chunks:
            seen += [row.phone for row in chunk]
            if len(seen) == 500:
                # A later row moves to the front, and a new one appears: neither may upset the export.
                clock.advance(10)
                moved = [("2999", "late", "message"), ("9999", "", "message")]
                assert await store.upsert_many(moved) == ["9999"]
    assert seen == [f"{i:04d}" for i in range(3000)]


async def test_iter_csv_matches_the_rows_and_neutralises_names(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([(f"{i:04d}", "=cmd()" if i == 7 else f"N, {i}", "history") for i in range(2100)])
    chunks = [chunk async for chunk in store.iter_csv(1000)]
    assert len(chunks) == 3
    lines = b"".join(chunks).decode().splitlines()
    rows = [row async for chunk in store.iter_all(1000) for row in chunk]
    assert [line.split(",", 1)[0] for line in lines] == [row.phone for row in rows]
    assert f'0001,"N, 1",history,{rows[0].first_seen},' in "\n".join(lines)
    assert "0007,'=cmd(),history," in "\n".join(lines)


async def test_an_abandoned_csv_export_releases_its_connection(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([(f"{i:04d}", "", "history") for i in range(3000)])
    async with contextlib.aclosing(store.iter_csv(100)) as chunks:
        async for _ in chunks:
            break
    await stores.close(TOKEN)
    assert not (store.path.with_name(store.path.name + "-wal")).exists()


async def test_an_abandoned_export_releases_its_connection(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.upsert_many([(f"{i:04d}", "", "history") for i in range(3000)])
    async with contextlib.aclosing(store.iter_all(100)) as chunks:
        async for _ in chunks:
            break
    # With the reader closed, a checkpoint can fold the whole WAL back into the database.
    await stores.close(TOKEN)
    assert not (store.path.with_name(store.path.name + "-wal")).exists()


async def test_fifty_thousand_contacts_do_not_stall_the_loop(stores: ContactStores) -> None:
    store = stores.get(TOKEN)
    await store.page(1, 0)  # file opened before timing
    rows = [(f"60{i:09d}", f"Name {i}", "history") for i in range(50_000)]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            # The ticker's period: it measures how long the loop goes without a turn, waiting for nothing.
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    new = await store.upsert_many(rows)
    elapsed = time.perf_counter() - started
    done.set()
    await ticking
    assert len(new) == 50_000
    assert (await store.page(1, 0))[1] == 50_000
    # The ticker kept running while the batch was written; had the loop done the work it would not have.
    assert len(gaps) >= max(3, int(elapsed / 0.05))
    assert max(gaps) < 0.2, f"loop stalled for {max(gaps) * 1000:.0f} ms"
