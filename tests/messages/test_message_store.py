"""The sqlite message store on a real file: ordering, cursors, chats, receipts, edits, reactions, pruning."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wa_gateway.clock import ManualClock
from wa_gateway.messages import sql
from wa_gateway.messages.model import Cursor, NewMessage, PageQuery
from wa_gateway.messages.retention import DAY_S, PRUNE_INTERVAL_S, MessageRetention
from wa_gateway.messages.sqlite_store import SqliteMessageStore

from ..harness import wait_for

TOKEN = "60123456789"
OTHER = "60111111111"
ALICE = "60100000001@s.whatsapp.net"
BOB = "60100000002@s.whatsapp.net"
T0 = 1_800_000_000.0


def msg(
    mid: str, ts: float, chat: str = ALICE, *, from_me: bool = False, text: str = "hi", **kw: object
) -> NewMessage:
    return NewMessage(
        id=mid,
        chat=chat,
        sender=f"{TOKEN}@s.whatsapp.net" if from_me else chat,
        from_me=from_me,
        is_group=False,
        type="text",
        text=text,
        timestamp=ts,
        source="sent" if from_me else "live",
        push_name="" if from_me else "Alice",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteMessageStore]:
    db = SqliteMessageStore(tmp_path / "messages.db")
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def test_pages_newest_first_and_the_cursor_walks_every_message_once(store: SqliteMessageStore) -> None:
    # Ten messages in the same second and ten later ones: ties keep their arrival order.
    await store.add(TOKEN, [msg(f"a{i}", T0) for i in range(10)], unread=True)
    await store.add(TOKEN, [msg(f"b{i}", T0 + 1 + i) for i in range(10)], unread=True)
    seen: list[str] = []
    before: Cursor | None = None
    pages = 0
    while True:
        page = await store.page(TOKEN, PageQuery(before=before, limit=3))
        seen += [m.id for m in page.messages]
        pages += 1
        if page.next_cursor is None:
            break
        before = page.next_cursor
    expected = [f"b{i}" for i in reversed(range(10))] + [f"a{i}" for i in reversed(range(10))]
    assert seen == expected
    assert pages == 7


async def test_after_keeps_the_page_to_newer_messages(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg(f"m{i}", T0 + i) for i in range(6)], unread=True)
    pivot = await store.get(TOKEN, "m2")
    assert pivot is not None
    page = await store.page(TOKEN, PageQuery(after=pivot.cursor, limit=2))
    assert [m.id for m in page.messages] == ["m5", "m4"]
    assert page.next_cursor is not None
    rest = await store.page(TOKEN, PageQuery(after=pivot.cursor, before=page.next_cursor, limit=2))
    assert [m.id for m in rest.messages] == ["m3"] and rest.next_cursor is None


async def test_chat_filter_and_devices_are_apart(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg("x1", T0, ALICE), msg("x2", T0 + 1, BOB)], unread=True)
    await store.add(OTHER, [msg("y1", T0, ALICE)], unread=True)
    page = await store.page(TOKEN, PageQuery(chat=BOB))
    assert [m.id for m in page.messages] == ["x2"]
    assert await store.get(OTHER, "x1") is None
    await store.delete_device(TOKEN)
    assert (await store.page(TOKEN, PageQuery())).messages == []
    assert await store.chats(TOKEN, 10) == []
    assert [m.id for m in (await store.page(OTHER, PageQuery())).messages] == ["y1"]


async def test_a_known_id_is_kept_as_first_stored(store: SqliteMessageStore) -> None:
    assert await store.add(TOKEN, [msg("dup", T0, text="first")], unread=True) == 1
    assert await store.add(TOKEN, [msg("dup", T0 + 5, text="again")], unread=True) == 0
    found = await store.get(TOKEN, "dup")
    assert found is not None and found.text == "first"
    (chat,) = await store.chats(TOKEN, 10)
    assert chat.unread == 1


async def test_chats_carry_last_message_name_and_unread(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg("a1", T0), msg("a2", T0 + 1)], unread=True)
    await store.add(TOKEN, [msg("b1", T0 + 2, BOB)], unread=True)
    # History reaching back adds neither unread nor a newer last message.
    await store.add(TOKEN, [msg("old", T0 - 100)], unread=False)
    chats = await store.chats(TOKEN, 10)
    assert [(c.jid, c.last.id, c.unread, c.name) for c in chats] == [
        (BOB, "b1", 1, "Alice"),
        (ALICE, "a2", 2, "Alice"),
    ]
    # Replying clears the unread count, and reading does too.
    await store.add(TOKEN, [msg("r1", T0 + 3, ALICE, from_me=True)], unread=False)
    await store.mark_read(TOKEN, BOB)
    chats = await store.chats(TOKEN, 10)
    assert [(c.jid, c.last.id, c.unread) for c in chats] == [(ALICE, "r1", 0), (BOB, "b1", 0)]
    assert len(await store.chats(TOKEN, 1)) == 1


async def test_receipts_only_move_forward_and_only_for_own_messages(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg("mine", T0, from_me=True), msg("theirs", T0 + 1)], unread=True)
    await store.receipt(TOKEN, ["mine", "theirs"], "read")
    await store.receipt(TOKEN, ["mine"], "delivered")
    await store.receipt(TOKEN, ["mine"], "nonsense")
    mine, theirs = await store.get(TOKEN, "mine"), await store.get(TOKEN, "theirs")
    assert mine is not None and mine.status == "read"
    assert theirs is not None and theirs.status == "received"


async def test_edit_reactions_and_revoke(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg("m", T0, text="helo")], unread=True)
    await store.edit(TOKEN, "m", "hello", T0 + 1)
    await store.react(TOKEN, "m", BOB, "👍", T0 + 2)
    await store.react(TOKEN, "m", ALICE, "❤️", T0 + 3)
    await store.react(TOKEN, "m", BOB, "", T0 + 4)  # Bob takes his back
    found = await store.get(TOKEN, "m")
    assert found is not None
    body = found.to_json()
    assert body["text"] == "hello" and body["editedAt"] is not None
    assert [(r["from"], r["emoji"]) for r in body["reactions"]] == [(ALICE, "❤️")]
    await store.revoke(TOKEN, "m", T0 + 5)
    await store.edit(TOKEN, "m", "too late", T0 + 6)
    gone = await store.get(TOKEN, "m")
    assert gone is not None
    assert gone.text == "" and gone.revoked_ms == round((T0 + 5) * 1000) and gone.reactions == []


async def test_prune_removes_what_is_older_and_chats_left_empty(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg(f"old{i}", T0 + i) for i in range(3)], unread=True)
    await store.add(TOKEN, [msg("old-bob", T0, BOB), msg("new-bob", T0 + 100, BOB)], unread=True)
    await store.react(TOKEN, "old0", BOB, "👍", T0)
    assert await store.prune(T0 + 50) == 4
    assert [m.id for m in (await store.page(TOKEN, PageQuery())).messages] == ["new-bob"]
    assert [c.jid for c in await store.chats(TOKEN, 10)] == [BOB]


async def test_retention_prunes_at_start_and_every_hour_on_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    store = SqliteMessageStore(tmp_path / "messages.db")
    await store.open()
    try:
        now = clock.time()
        await store.add(
            TOKEN, [msg("ancient", now - 3 * DAY_S), msg("fresh", now - 0.5 * DAY_S)], unread=True
        )
        retention = MessageRetention(store, clock, days=1)

        async def one_sleeper() -> bool:
            return clock.sleepers == 1

        async with retention.cleanup_ctx(None):  # type: ignore[arg-type]
            await wait_for(one_sleeper, what="the pruner asleep")
            assert await store.get(TOKEN, "ancient") is None
            assert await store.get(TOKEN, "fresh") is not None
            clock.advance(PRUNE_INTERVAL_S * 13)
            # 13 hours on, "fresh" is over a day old: that hourly run removes it.
            await wait_for(one_sleeper, what="the pruner asleep")
            assert await store.get(TOKEN, "fresh") is None
    finally:
        await store.close()


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    cursor = Cursor(1_800_000_000_123, 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "not-a-cursor", "MTIz", "x" * 100, "!!!!"):
        assert Cursor.decode(bad) is None


async def test_the_engine_reference_is_kept_and_a_revoke_drops_it(store: SqliteMessageStore) -> None:
    await store.add(TOKEN, [msg("m", T0, ref="ENGINE-REF"), msg("plain", T0 + 1)], unread=True)
    found = await store.get(TOKEN, "m")
    assert found is not None and found.ref == "ENGINE-REF"
    assert "ref" not in found.to_json(), "the reference is the engine's, never shown"
    await store.edit(TOKEN, "m", "edited", T0 + 2)
    edited = await store.get(TOKEN, "m")
    assert edited is not None and edited.ref == "ENGINE-REF"
    plain = await store.get(TOKEN, "plain")
    assert plain is not None and plain.ref is None
    await store.revoke(TOKEN, "m", T0 + 3)
    revoked = await store.get(TOKEN, "m")
    assert revoked is not None and revoked.ref is None and revoked.media is None


async def test_a_file_of_the_previous_schema_opens_in_place_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "messages.db"

    def write_version_1() -> None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript(sql.SCHEMA)
            db.execute(
                "INSERT INTO messages (token, id, chat, sender, from_me, is_group, type, text, mentions, "
                "push_name, ts_ms, source, status) "
                "VALUES (?, 'old', ?, ?, 0, 0, 'text', 'from before', '[]', 'Alice', ?, 'live', 'received')",
                (TOKEN, ALICE, ALICE, round(T0 * 1000)),
            )
            db.execute("PRAGMA user_version = 1")
            db.commit()

    await asyncio.to_thread(write_version_1)
    store = SqliteMessageStore(path)
    await store.open()
    try:
        old = await store.get(TOKEN, "old")
        assert old is not None and (old.text, old.ref) == ("from before", None)
        await store.add(TOKEN, [msg("new", T0 + 1, ref="R")], unread=True)
        new = await store.get(TOKEN, "new")
        assert new is not None and new.ref == "R"
    finally:
        await store.close()

    def version() -> int:
        with contextlib.closing(sqlite3.connect(path)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    assert await asyncio.to_thread(version) == len(sql.MIGRATIONS) == 2
