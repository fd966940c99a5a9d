"""The sqlite outbox: exact bytes, per-token queue heads, dead letters, pruning, durability."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import asyncpg
import orjson
import pytest

from wa_gateway.clock import ManualClock
from wa_gateway.envelope import dumps
from wa_gateway.webhooks import WebhookOutbox

TOKEN_A = "6281111111"
TOKEN_B = "6282222222"


async def test_enqueue_stores_the_exact_payload_bytes(outbox: WebhookOutbox, clock: ManualClock) -> None:
    data = {"id": "3EB0", "from": "6289999", "text": "héllo <&>", "isGroup": False}
    msg_id = await outbox.enqueue("message.received", TOKEN_A, data)

    record = await outbox.get(msg_id)
    assert record is not None
    assert msg_id.startswith("evt_")
    expected = {
        "id": msg_id,
        "event": "message.received",
        "token": TOKEN_A,
        "data": data,
        "timestamp": "2023-11-14T22:13:20Z",  # the manual clock's wall time
    }
    assert record.body == dumps(expected)
    assert list(orjson.loads(record.body)) == ["id", "event", "token", "data", "timestamp"]
    assert (record.status, record.attempts, record.event) == ("pending", 0, "message.received")
    assert record.token == TOKEN_A
    assert record.created_at == clock.time()


async def test_null_data_is_kept_as_null(outbox: WebhookOutbox) -> None:
    msg_id = await outbox.enqueue("device.connected", TOKEN_A, None)
    record = await outbox.get(msg_id)
    assert record is not None
    assert record.payload()["data"] is None


async def test_enqueue_many_keeps_order_and_ids_are_unique(outbox: WebhookOutbox) -> None:
    ids = await outbox.enqueue_many([("contacts.new", TOKEN_A, {"n": n}) for n in range(50)])
    assert len(set(ids)) == 50
    seen = []
    while heads := await outbox.due(10):
        assert len(heads) == 1
        seen.append(heads[0].id)
        await outbox.mark_delivered(heads[0].id, 200)
    assert seen == ids
    assert await outbox.enqueue_many([]) == []


async def test_concurrent_enqueues_are_all_committed(
    outbox: WebhookOutbox, db_path: Path, outbox_backend: str, request: pytest.FixtureRequest
) -> None:
    ids = await asyncio.gather(*(outbox.enqueue("contacts.new", TOKEN_A, {"n": n}) for n in range(200)))
    await outbox.close()
    # Read the rows behind the outbox's back: every acknowledged id is stored.
    if outbox_backend == "sqlite":
        with sqlite3.connect(db_path) as conn:
            stored = {
                row[0] for row in conn.execute("SELECT id FROM webhook_outbox WHERE status = 'pending'")
            }
    else:
        conn = await asyncpg.connect(request.getfixturevalue("postgres_url"))
        try:
            rows = await conn.fetch("SELECT id FROM wa_webhook_outbox WHERE status = 'pending'")
        finally:
            await conn.close()
        stored = {row["id"] for row in rows}
    assert stored == set(ids)


async def test_only_the_head_of_each_token_queue_is_due(outbox: WebhookOutbox, clock: ManualClock) -> None:
    a1, a2 = await outbox.enqueue_many([("e", TOKEN_A, 1), ("e", TOKEN_A, 2)])
    b1 = await outbox.enqueue("e", TOKEN_B, 1)

    assert [m.id for m in await outbox.due(10)] == [a1, b1]
    assert [m.id for m in await outbox.due(10, skip_tokens={TOKEN_A})] == [b1]
    assert [m.id for m in await outbox.due(1)] == [a1]

    # A head waiting for its retry holds back the rest of its queue.
    await outbox.reschedule(a1, clock.time() + 30, "HTTP 500", 500)
    assert [m.id for m in await outbox.due(10)] == [b1]
    assert await outbox.next_due_at() == clock.time()  # b1 is due already
    assert await outbox.next_due_at(skip_tokens={TOKEN_B}) == clock.time() + 30
    clock.advance(30)
    heads = await outbox.due(10)
    assert [m.id for m in heads] == [b1, a1]  # the longest overdue first
    assert heads[1].attempts == 1

    # A dead head no longer blocks: the next event of that token becomes the head.
    await outbox.mark_dead(a1, "HTTP 410", 410)
    assert [m.id for m in await outbox.due(10)] == [a2, b1]
    assert await outbox.next_due_at(skip_tokens={TOKEN_A, TOKEN_B}) is None


async def test_attempt_bookkeeping(outbox: WebhookOutbox, clock: ManualClock) -> None:
    msg_id = await outbox.enqueue("e", TOKEN_A, None)
    await outbox.reschedule(msg_id, clock.time() + 5, "ClientConnectorError: refused", None)
    clock.advance(5)
    await outbox.reschedule(msg_id, clock.time() + 5, "x" * 5000, 503)
    record = await outbox.get(msg_id)
    assert record is not None
    assert (record.status, record.attempts, record.last_status) == ("pending", 2, 503)
    assert record.last_error is not None and len(record.last_error) <= 500

    clock.advance(5)
    await outbox.mark_delivered(msg_id, 204)
    record = await outbox.get(msg_id)
    assert record is not None
    assert (record.status, record.attempts, record.last_status) == ("delivered", 3, 204)
    assert record.last_error is None
    # A late duplicate report for a row that is no longer pending changes nothing.
    await outbox.mark_dead(msg_id, "late", 500)
    again = await outbox.get(msg_id)
    assert again == record


async def test_stats(outbox: WebhookOutbox, clock: ManualClock) -> None:
    empty = await outbox.stats()
    assert (empty.pending, empty.delivered, empty.dead, empty.oldest_pending_age_s) == (0, 0, 0, 0.0)

    first = await outbox.enqueue("e", TOKEN_A, 1)
    clock.advance(40)
    second, third = await outbox.enqueue_many([("e", TOKEN_B, 1), ("e", TOKEN_B, 2)])
    await outbox.mark_delivered(second, 200)
    await outbox.mark_dead(third, "HTTP 410", 410)
    clock.advance(2)

    stats = await outbox.stats()
    assert (stats.pending, stats.delivered, stats.dead) == (1, 1, 1)
    assert stats.oldest_pending_age_s == pytest.approx(42.0)
    await outbox.mark_delivered(first, 200)
    assert (await outbox.stats()).oldest_pending_age_s == 0.0


async def test_dead_list_pages_and_retry(outbox: WebhookOutbox, clock: ManualClock) -> None:
    ids = await outbox.enqueue_many([("e", f"62800000{n:02d}", n) for n in range(5)])
    for msg_id in ids:
        await outbox.mark_dead(msg_id, "HTTP 404", 404)
    calls: list[str] = []
    outbox.add_listener(lambda: calls.append("due"))

    page = await outbox.dead(limit=2, offset=1)
    assert page.total == 5
    assert [r.id for r in page.items] == ids[1:3]
    assert page.items[0].last_error == "HTTP 404" and page.items[0].attempts == 1
    assert (await outbox.dead(limit=10, offset=5)).items == []

    clock.advance(100)
    assert await outbox.retry_dead(ids[0]) is True
    assert calls == ["due"]
    assert await outbox.retry_dead(ids[0]) is False  # no longer dead
    assert await outbox.retry_dead("evt_unknown") is False
    record = await outbox.get(ids[0])
    assert record is not None
    assert (record.status, record.attempts, record.next_attempt_at) == ("pending", 0, clock.time())
    heads = await outbox.due(10)
    assert [h.id for h in heads] == [ids[0]]
    assert heads[0].window_start == clock.time()  # a fresh retry budget

    assert await outbox.retry_all_dead() == 4
    assert (await outbox.dead(10, 0)).total == 0
    assert await outbox.retry_all_dead() == 0
    assert calls == ["due", "due"]


async def test_listener_hears_enqueues_until_removed(outbox: WebhookOutbox) -> None:
    calls: list[int] = []

    def listener() -> None:
        calls.append(1)

    outbox.add_listener(listener)
    await outbox.enqueue("e", TOKEN_A, 1)
    await outbox.enqueue_many([("e", TOKEN_A, 2), ("e", TOKEN_A, 3)])
    assert len(calls) == 2
    outbox.remove_listener(listener)
    outbox.remove_listener(listener)
    await outbox.enqueue("e", TOKEN_A, 4)
    assert len(calls) == 2


async def test_prune_removes_only_old_delivered_rows(outbox: WebhookOutbox, clock: ManualClock) -> None:
    old_delivered, old_dead, old_pending = await outbox.enqueue_many(
        [("e", TOKEN_A, 1), ("e", TOKEN_B, 1), ("e", "6283333333", 1)]
    )
    await outbox.mark_delivered(old_delivered, 200)
    await outbox.mark_dead(old_dead, "HTTP 410", 410)
    clock.advance(1000)
    recent = await outbox.enqueue("e", TOKEN_A, 2)
    await outbox.mark_delivered(recent, 200)
    clock.advance(10)

    assert await outbox.prune_delivered(older_than_s=500) == 1
    assert await outbox.get(old_delivered) is None
    for kept in (old_dead, old_pending, recent):
        assert await outbox.get(kept) is not None


async def test_prune_works_in_batches(outbox: WebhookOutbox, clock: ManualClock) -> None:
    ids = await outbox.enqueue_many([("e", f"6280{n:06d}", n) for n in range(2500)])
    for head in await outbox.due(3000):
        await outbox.mark_delivered(head.id, 200)
    assert (await outbox.stats()).delivered == len(ids)
    clock.advance(10)
    assert await outbox.prune_delivered(older_than_s=5) == 2500
    assert (await outbox.stats()).delivered == 0


async def test_rows_survive_a_reopen(db_path: Path, clock: ManualClock) -> None:
    async with WebhookOutbox(db_path, clock=clock) as first:
        ids = await first.enqueue_many([("e", TOKEN_A, n) for n in range(3)])
        await first.reschedule(ids[0], clock.time() + 60, "HTTP 500", 500)

    async with WebhookOutbox(db_path, clock=clock) as second:
        assert await second.due(10) == []
        record = await second.get(ids[0])
        assert record is not None and record.attempts == 1
        clock.advance(60)
        assert [m.id for m in await second.due(10)] == [ids[0]]
        assert (await second.stats()).pending == 3


async def test_closed_outbox_refuses_work_and_leaves_no_thread(db_path: Path) -> None:
    box = WebhookOutbox(db_path)
    with pytest.raises(RuntimeError):
        await box.enqueue("e", TOKEN_A, None)
    await box.open()
    with pytest.raises(RuntimeError, match="already open"):
        await box.open()
    await box.close()
    await box.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("webhook-outbox")]
    with pytest.raises(RuntimeError):
        await box.enqueue("e", TOKEN_A, None)
    with pytest.raises(RuntimeError):
        await box.stats()


async def test_unserialisable_data_is_refused_before_anything_is_stored(outbox: WebhookOutbox) -> None:
    with pytest.raises(TypeError):
        await outbox.enqueue("e", TOKEN_A, {"bad": object()})
    assert (await outbox.stats()).pending == 0


async def test_newer_schema_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    box = WebhookOutbox(db_path)
    with pytest.raises(RuntimeError, match="schema version 99"):
        await box.open()
    assert not [t for t in threading.enumerate() if t.name.startswith("webhook-outbox")]


_ENQUEUE_FOREVER = """
import asyncio, sys
from wa_gateway.webhooks import WebhookOutbox

async def main() -> None:
    box = WebhookOutbox(sys.argv[1])
    await box.open()
    n = 0
    while True:
        ids = await box.enqueue_many([("e", "6281111111", {"n": n}), ("e", "6282222222", {"n": n})])
        print(" ".join(ids), flush=True)
        n += 1

asyncio.run(main())
"""


async def test_a_killed_process_loses_no_acknowledged_row(db_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _ENQUEUE_FOREVER,
        str(db_path),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 200:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, "the enqueuing process ended early"
            acknowledged.extend(line.decode().split())
    finally:
        proc.send_signal(signal.SIGKILL)
        # Everything it printed before dying was acknowledged too.
        rest = await proc.stdout.read()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    acknowledged.extend(rest.decode().split())

    async with WebhookOutbox(db_path) as box:
        for msg_id in acknowledged:
            record = await box.get(msg_id)
            assert record is not None, f"{msg_id} was acknowledged but is gone"
            assert record.status == "pending"
        # Per-token order on disk matches the order the process acknowledged them in.
        heads = {m.token: m.id for m in await box.due(10)}
        assert heads == {"6281111111": acknowledged[0], "6282222222": acknowledged[1]}
