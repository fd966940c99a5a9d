"""The webhook outbox on sqlite (an ``OutboxStore``): only SQL; file and thread are a ``SqliteDatabase``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final

from wa_gateway.db.sqlite import SqliteDatabase
from wa_gateway.webhooks.outbox_store import OutboxRow, clip_error
from wa_gateway.webhooks.records import Attempt, DeadPage, OutboxMessage, OutboxRecord, OutboxStats

PRUNE_BATCH_ROWS: Final = 1000

# Files written before the schema was versioned by this list already have user_version 1 and this table.
MIGRATIONS: Final = (
    """
CREATE TABLE IF NOT EXISTS webhook_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    event           TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,
    window_start    REAL    NOT NULL,
    next_attempt_at REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    last_error      TEXT,
    last_status     INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_outbox_queue ON webhook_outbox (status, token, seq);
CREATE INDEX IF NOT EXISTS webhook_outbox_status ON webhook_outbox (status, seq);
""",
)

# The head (lowest seq) of every token's pending queue. Only heads are ever sent, which is the
# whole per-device ordering guarantee, and it survives restarts because it is a property of the data.
# A loose index scan: one index seek per token instead of a pass over every pending row, so a backlog
# of 100k events costs microseconds per query, not tens of milliseconds (measured).
_HEADS: Final = """
WITH RECURSIVE tokens(token) AS (
    SELECT MIN(token) FROM webhook_outbox WHERE status = 'pending'
    UNION ALL
    SELECT (SELECT MIN(token) FROM webhook_outbox WHERE status = 'pending' AND token > tokens.token)
    FROM tokens WHERE tokens.token IS NOT NULL
)
SELECT token, (SELECT MIN(seq) FROM webhook_outbox WHERE status = 'pending' AND token = tokens.token) AS head
FROM tokens WHERE token IS NOT NULL
"""

_RECORD_COLUMNS: Final = ", ".join(
    (
        "id",
        "event",
        "token",
        "body",
        "status",
        "attempts",
        "created_at",
        "updated_at",
        "next_attempt_at",
        "last_error",
        "last_status",
    )
)


class SqliteOutboxStore:
    def __init__(self, path: Path) -> None:
        # FULL syncs the WAL on every commit: an acknowledged event survives power loss too.
        self._db = SqliteDatabase(path, MIGRATIONS, name="webhook-outbox", synchronous="FULL")

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def insert(self, rows: list[OutboxRow], now: float) -> None:
        """An id already stored is skipped: a replayed engine event carries the id it had the first time."""
        values = [(msg_id, event, token, body, now, now, now, now) for msg_id, event, token, body in rows]
        await self._db.write(
            lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO webhook_outbox (id, event, token, body, status, attempts, created_at,"
                " window_start, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                values,
            )
        )

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        def job(conn: sqlite3.Connection) -> list[OutboxMessage]:
            cursor = conn.execute(
                "SELECT o.seq, o.id, o.event, o.token, o.body, o.attempts, o.created_at, o.window_start"
                f" FROM ({_HEADS}) h JOIN webhook_outbox o ON o.seq = h.head"
                " WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.seq LIMIT ?",
                (now, limit),
            )
            return [OutboxMessage(*row) for row in cursor]

        return await self._db.read(job)

    async def head_times(self, limit: int) -> list[tuple[str, float]]:
        def job(conn: sqlite3.Connection) -> list[tuple[str, float]]:
            cursor = conn.execute(
                f"SELECT o.token, o.next_attempt_at FROM ({_HEADS}) h JOIN webhook_outbox o ON o.seq = h.head"
                " ORDER BY o.next_attempt_at, o.seq LIMIT ?",
                (limit,),
            )
            return [(token, float(at)) for token, at in cursor]

        return await self._db.read(job)

    async def record_attempt(self, msg_id: str, attempt: Attempt, now: float) -> None:
        values = (
            attempt.status,
            attempt.next_attempt_at,
            clip_error(attempt.error),
            attempt.http_status,
            now,
            msg_id,
        )
        # Delivery bookkeeping: a mark lost to a power cut only means one more delivery of an event
        # the receiver already has, which at-least-once allows; skipping the fsync per delivery
        # roughly triples throughput (BENCHMARKS.md, webhooks). Events themselves stay FULL.
        await self._db.write(
            lambda conn: conn.execute(
                "UPDATE webhook_outbox SET status = ?, attempts = attempts + 1,"
                " next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, last_status = ?,"
                " updated_at = ? WHERE id = ? AND status = 'pending'",
                values,
            ),
            durable=False,
        )

    async def prune_delivered(self, cutoff: float) -> int:
        def batch(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox"
                " WHERE status = 'delivered' AND updated_at < ? LIMIT ?)",
                (cutoff, PRUNE_BATCH_ROWS),
            ).rowcount

        removed = 0
        while True:
            # Small batches keep each write transaction short while enqueues wait for the thread.
            count = await self._db.write(batch)
            removed += count
            if count < PRUNE_BATCH_ROWS:
                return removed

    async def get(self, msg_id: str) -> OutboxRecord | None:
        def job(conn: sqlite3.Connection) -> OutboxRecord | None:
            row = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM webhook_outbox WHERE id = ?", (msg_id,)
            ).fetchone()
            return None if row is None else _record(row)

        return await self._db.read(job)

    async def stats(self, now: float) -> OutboxStats:
        def job(conn: sqlite3.Connection) -> OutboxStats:
            counts = dict(
                conn.execute("SELECT status, COUNT(*) FROM webhook_outbox GROUP BY status").fetchall()
            )
            oldest = conn.execute(
                "SELECT created_at FROM webhook_outbox WHERE status = 'pending' ORDER BY seq LIMIT 1"
            ).fetchone()
            return OutboxStats.from_counts(counts, None if oldest is None else oldest[0], now)

        return await self._db.read(job)

    async def dead(self, limit: int, offset: int) -> DeadPage:
        def job(conn: sqlite3.Connection) -> DeadPage:
            total = conn.execute("SELECT COUNT(*) FROM webhook_outbox WHERE status = 'dead'").fetchone()[0]
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM webhook_outbox WHERE status = 'dead'"
                " ORDER BY seq LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return DeadPage(items=[_record(row) for row in rows], total=total)

        return await self._db.read(job)

    async def requeue_dead(self, msg_id: str | None, now: float) -> int:
        values = (now, now, now, msg_id, msg_id)
        return await self._db.write(
            lambda conn: (
                conn.execute(
                    "UPDATE webhook_outbox SET status = 'pending', attempts = 0, window_start = ?,"
                    " next_attempt_at = ?, updated_at = ? WHERE status = 'dead' AND (? IS NULL OR id = ?)",
                    values,
                ).rowcount
            )
        )

    async def requeue_delivered(self, msg_id: str, now: float) -> int:
        values = (now, now, now, msg_id)
        return await self._db.write(
            lambda conn: (
                conn.execute(
                    "UPDATE webhook_outbox SET status = 'pending', attempts = 0, window_start = ?,"
                    " next_attempt_at = ?, updated_at = ? WHERE status = 'delivered' AND id = ?",
                    values,
                ).rowcount
            )
        )


def _record(row: tuple[Any, ...]) -> OutboxRecord:
    # Column order is _RECORD_COLUMNS, which is OutboxRecord's field order.
    return OutboxRecord(*row)
