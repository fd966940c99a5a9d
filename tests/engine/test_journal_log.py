"""The journal file on disk: torn tails, replay order, acknowledgements, compaction, reopening, upgrading."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest

from wa_gateway.engine import contract as c
from wa_gateway.engine.ipc import decode_body
from wa_gateway.worker import journal_log
from wa_gateway.worker.journal import JOURNAL_FILE, EventJournal, event_id
from wa_gateway.worker.journal_legacy import LEGACY_JOURNAL_FILE
from wa_gateway.worker.journal_log import JournalCorrupt, JournalLog, entries

CREATED_MS = 1_700_000_000_000


def payload(seq: int, size: int = 64) -> bytes:
    return f"{seq}:".encode() + b"x" * size


def seqs(log: JournalLog) -> list[int]:
    return [seq for seq, _ in log.pending()]


def test_a_torn_tail_frame_is_dropped_at_open_and_appends_go_on_after_it(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    log.append([(1, payload(1)), (2, payload(2))], [])
    synced = path.stat().st_size
    log.append([(3, payload(3))], [])
    log.close()
    # A crash inside the third frame's write: half of it reached the file, and no sync said it had.
    with path.open("r+b") as file:
        file.truncate(synced + 20)

    reopened = JournalLog(path)
    assert reopened.pending() == [(1, payload(1)), (2, payload(2))]
    assert reopened.last_seq == 2
    reopened.append([(3, payload(3, 10))], [])
    reopened.close()
    assert entries(path) == [(1, payload(1)), (2, payload(2)), (3, payload(3, 10))]


def test_a_zeroed_or_garbled_tail_ends_the_scan_where_the_checksums_stop_matching(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    log.append([(1, payload(1))], [])
    end = path.stat().st_size
    log.append([(2, payload(2))], [])
    log.close()
    data = bytearray(path.read_bytes())
    data[end + 30] ^= 0xFF  # a bit of the second frame's payload flipped
    path.write_bytes(bytes(data) + b"\0" * 4096)
    assert entries(path) == [(1, payload(1))]


def test_entries_come_back_in_sequence_order_without_the_acknowledged_ones(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    log.append([(1, payload(1)), (2, payload(2))], [])
    log.append([(3, payload(3))], [2])  # acknowledgements out of order, riding along with an append
    log.ack([3, 99])  # an unknown one is ignored
    log.append([(4, payload(4))], [])
    journal_id = log.journal_id
    log.close()

    reopened = JournalLog(path)
    assert seqs(reopened) == [1, 4]
    assert reopened.journal_id == journal_id
    reopened.ack([1, 4])
    reopened.close()
    # Everything acknowledged: the file keeps no entry, but still the sequence numbers it gave out.
    again = JournalLog(path)
    assert again.pending() == [] and again.last_seq == 4
    again.close()


def test_acknowledging_only_unknown_numbers_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    log.append([(1, payload(1))], [])
    size = path.stat().st_size
    log.ack([7, 8])
    log.ack([])
    assert path.stat().st_size == size
    log.close()


def test_the_file_is_compacted_once_it_is_mostly_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_log, "COMPACT_BYTES", 4096)
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    sizes: list[int] = []
    for seq in range(1, 201):
        log.append([(seq, payload(seq, 200))], [seq - 1] if seq % 10 else [])
        sizes.append(path.stat().st_size)
    # Every tenth entry stays unacknowledged; the others' bytes are reclaimed again and again.
    assert max(sizes) < 4096 + 8192
    assert sizes.index(max(sizes)) < len(sizes) - 1  # it shrank after its largest
    kept = [seq for seq in range(1, 200) if seq % 10 == 9] + [200]
    assert seqs(log) == kept
    log.close()
    assert [seq for seq, _ in entries(path)] == kept
    assert entries(path)[0] == (9, payload(9, 200))
    assert not path.with_name(JOURNAL_FILE + ".tmp").exists()


def test_a_rewrite_interrupted_before_its_rename_leaves_the_old_file_in_charge(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    log = JournalLog(path)
    log.append([(1, payload(1))], [])
    log.close()
    path.with_name(JOURNAL_FILE + ".tmp").write_bytes(b"half a rewrite")
    reopened = JournalLog(path)
    assert reopened.pending() == [(1, payload(1))]
    reopened.close()
    assert not path.with_name(JOURNAL_FILE + ".tmp").exists()


def test_a_file_that_is_no_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    path.write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    with pytest.raises(JournalCorrupt):
        JournalLog(path)


def _legacy_journal(
    path: Path, journal_id: str, rows: list[tuple[int, str, str, bytes, int]], last: int
) -> None:
    """A journal as earlier versions left it: their schema, their id, entries not yet acknowledged."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(
            "CREATE TABLE journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL,"
            " event TEXT NOT NULL, data BLOB NOT NULL, created_ms INTEGER NOT NULL);"
        )
        conn.execute("INSERT INTO journal_meta (key, value) VALUES ('id', ?)", (journal_id,))
        conn.execute(
            "INSERT INTO journal (seq, token, event, data, created_ms) VALUES (?, 't', 'x', '{}', 0)", (last,)
        )
        conn.execute("DELETE FROM journal")
        conn.executemany(
            "INSERT INTO journal (seq, token, event, data, created_ms) VALUES (?, ?, ?, ?, ?)", rows
        )


def decoded(frame: dict[str, Any] | bytes) -> dict[str, Any]:
    return decode_body(frame[4:]) if isinstance(frame, bytes) else frame


async def test_an_upgrade_takes_over_the_sqlite_journal_with_its_numbers_and_ids(tmp_path: Path) -> None:
    legacy = tmp_path / LEGACY_JOURNAL_FILE
    rows = [
        (5, "60111", c.EV_MESSAGE, orjson.dumps({"text": "five"}), CREATED_MS + 5),
        (7, "60111", c.EV_RECEIPT, orjson.dumps({"ids": ["A"]}), CREATED_MS + 7),
    ]
    _legacy_journal(legacy, "0123456789abcdef", rows, last=9)

    sent: list[dict[str, Any]] = []
    journal = EventJournal(tmp_path / JOURNAL_FILE, lambda f: sent.append(decoded(f)), lambda: CREATED_MS)
    await journal.open()
    assert not legacy.exists() and not legacy.with_name(LEGACY_JOURNAL_FILE + "-wal").exists()
    assert await journal.replay() == 2
    assert [(f["seq"], f["token"], f["event"], f["data"], f["eventId"]) for f in sent] == [
        (5, "60111", c.EV_MESSAGE, {"text": "five"}, event_id("0123456789abcdef", 5, CREATED_MS + 5)),
        (7, "60111", c.EV_RECEIPT, {"ids": ["A"]}, event_id("0123456789abcdef", 7, CREATED_MS + 7)),
    ]
    # The id the sqlite journal's worker sent for it: evt_ + 12 hex ms + blake2b-64 of "<journal id>:<seq>".
    digest = hashlib.blake2b(b"0123456789abcdef:5", digest_size=8).hexdigest()
    assert sent[0]["eventId"] == f"evt_{CREATED_MS + 5:012x}{digest}"
    journal.emit("60111", c.EV_MESSAGE, {"text": "new"})
    await journal.flushed()
    assert sent[-1]["seq"] == 10  # the sqlite file's numbers are never given out again
    journal.ack([5])
    await journal.close()

    again: list[dict[str, Any]] = []
    reopened = EventJournal(tmp_path / JOURNAL_FILE, lambda f: again.append(decoded(f)), lambda: CREATED_MS)
    await reopened.open()
    assert await reopened.replay() == 2
    assert [f["seq"] for f in again] == [7, 10]
    assert again[0]["eventId"] == event_id("0123456789abcdef", 7, CREATED_MS + 7)
    await reopened.close()


async def test_a_sqlite_journal_left_by_an_interrupted_upgrade_is_not_taken_over_twice(
    tmp_path: Path,
) -> None:
    legacy = tmp_path / LEGACY_JOURNAL_FILE
    _legacy_journal(legacy, "0123456789abcdef", [(3, "t", c.EV_MESSAGE, b"{}", CREATED_MS)], last=3)
    log = journal_log.JournalLog(tmp_path / JOURNAL_FILE, journal_log.Seed("0123456789abcdef", 3))
    log.close()  # the journal file was written and synced; the crash came before the sqlite file went

    sent: list[dict[str, Any]] = []
    journal = EventJournal(tmp_path / JOURNAL_FILE, lambda f: sent.append(decoded(f)), lambda: CREATED_MS)
    await journal.open()
    assert not legacy.exists()
    assert await journal.replay() == 0
    await journal.close()


async def test_acknowledgements_alone_are_written_without_a_later_append_or_close(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE
    journal = EventJournal(path, lambda f: None, lambda: CREATED_MS, ack_write_delay_s=0.0)
    await journal.open()
    journal.emit("t", c.EV_MESSAGE, {"n": 1})
    journal.emit("t", c.EV_MESSAGE, {"n": 2})
    await journal.flushed()
    journal.ack([1])
    deadline = time.monotonic() + 10
    while [seq for seq, _ in await asyncio.to_thread(entries, path)] != [2]:
        assert time.monotonic() < deadline, "the acknowledgement reached the file"
        await asyncio.sleep(0.01)  # polling the file with a deadline
    await journal.close()
