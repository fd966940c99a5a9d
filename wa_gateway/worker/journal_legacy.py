"""The sqlite event journal of earlier versions (``DATA_DIR/event-journal.db``), read once to take it over.

The journal file (``journal_log.py``) starts with its id, its last sequence number and its unacknowledged
entries, so an upgrade keeps every event, sequence number and event id (docs/durability.md, "Upgrading").
Blocking: used only from the journal's own thread.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

LEGACY_JOURNAL_FILE: Final = "event-journal.db"
_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


@dataclass(slots=True)
class LegacyEntry:
    seq: int
    token: str
    event: str
    data: dict[str, Any]
    created_ms: int


@dataclass(slots=True)
class LegacyJournal:
    journal_id: str
    last_seq: int
    entries: list[LegacyEntry]


def read_legacy(path: Path) -> LegacyJournal | None:
    """What the sqlite journal at ``path`` holds; None if there is none (or it never got its id)."""
    if not path.exists():
        return None
    # Opening it the way its writer did replays its WAL, so committed entries still in the WAL count.
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "journal_meta" not in tables or "journal" not in tables:
            return None
        row = conn.execute("SELECT value FROM journal_meta WHERE key = 'id'").fetchone()
        if row is None:
            return None
        last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
        rows = conn.execute("SELECT seq, token, event, data, created_ms FROM journal ORDER BY seq")
        entries = [
            LegacyEntry(int(seq), str(token), str(event), orjson.loads(data), int(created_ms))
            for seq, token, event, data, created_ms in rows
        ]
    return LegacyJournal(str(row[0]), int(last[0]) if last else 0, entries)


def remove_legacy(path: Path) -> None:
    """Deletes the sqlite journal once the journal file holding its entries is synced."""
    for suffix in _SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
