"""All SQL of the webhook outbox, on sqlite: a blocking store used only from the outbox's own thread.

Kept apart from the async ``WebhookOutbox`` so that a PostgreSQL store with the same methods can
replace it (docs/architecture.md "Growth path"); the queries stick to SQL both engines understand.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from wa_gateway.webhooks.records import (
    STATUS_DEAD,
    STATUS_DELIVERED,
    STATUS_PENDING,
    DeadPage,
    OutboxMessage,
    OutboxRecord,
    OutboxStats,
)

BUSY_TIMEOUT_MS: Final = 5000
PRUNE_BATCH_ROWS: Final = 1000
LAST_ERROR_MAX_CHARS: Final = 500
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
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
"""

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
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL syncs the WAL on every commit: an acknowledged event survives power loss too.
            conn.execute("PRAGMA synchronous = FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{path} has schema version {version}; this build knows {SCHEMA_VERSION}")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        if not durable:
            # Delivery bookkeeping: a mark lost to a power cut only means one more delivery of an event
            # the receiver already has, which at-least-once allows; skipping the fsync per delivery
            # roughly triples throughput (BENCHMARKS.md, webhooks). Events themselves stay FULL.
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous = FULL")

    def insert(self, rows: list[tuple[str, str, str, bytes]], now: float) -> None:
        """Rows of (id, event, token, body), committed in one transaction, in list order.

        An id already stored is skipped: a replayed engine event carries the id it had the first time.
        """
        with self._write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO webhook_outbox (id, event, token, body, status, attempts, created_at,"
                " window_start, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                [(msg_id, event, token, body, now, now, now, now) for msg_id, event, token, body in rows],
            )

    def due(self, now: float, limit: int) -> list[OutboxMessage]:
        cursor = self._conn.execute(
            "SELECT o.seq, o.id, o.event, o.token, o.body, o.attempts, o.created_at, o.window_start"
            f" FROM ({_HEADS}) h JOIN webhook_outbox o ON o.seq = h.head"
            " WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.seq LIMIT ?",
            (now, limit),
        )
        return [OutboxMessage(*row) for row in cursor]

    def head_times(self, limit: int) -> list[tuple[str, float]]:
        """(token, next_attempt_at) of queue heads, soonest first."""
        cursor = self._conn.execute(
            f"SELECT o.token, o.next_attempt_at FROM ({_HEADS}) h JOIN webhook_outbox o ON o.seq = h.head"
            " ORDER BY o.next_attempt_at, o.seq LIMIT ?",
            (limit,),
        )
        return [(token, float(at)) for token, at in cursor]

    def record_attempt(
        self,
        msg_id: str,
        status: str,
        next_attempt_at: float | None,
        error: str | None,
        http_status: int | None,
        now: float,
    ) -> None:
        if status not in (STATUS_PENDING, STATUS_DELIVERED, STATUS_DEAD):
            raise ValueError(f"unknown outbox status {status!r}")
        with self._write(durable=False) as conn:
            conn.execute(
                "UPDATE webhook_outbox SET status = ?, attempts = attempts + 1,"
                " next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, last_status = ?,"
                " updated_at = ? WHERE id = ? AND status = 'pending'",
                (status, next_attempt_at, _clip(error), http_status, now, msg_id),
            )

    def prune_delivered(self, cutoff: float) -> int:
        removed = 0
        while True:
            # Small batches keep each write transaction short while enqueues wait for the lock.
            with self._write() as conn:
                count = conn.execute(
                    "DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox"
                    " WHERE status = 'delivered' AND updated_at < ? LIMIT ?)",
                    (cutoff, PRUNE_BATCH_ROWS),
                ).rowcount
            removed += count
            if count < PRUNE_BATCH_ROWS:
                return removed

    def get(self, msg_id: str) -> OutboxRecord | None:
        row = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM webhook_outbox WHERE id = ?", (msg_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def stats(self, now: float) -> OutboxStats:
        counts = dict(
            self._conn.execute("SELECT status, COUNT(*) FROM webhook_outbox GROUP BY status").fetchall()
        )
        oldest = self._conn.execute(
            "SELECT created_at FROM webhook_outbox WHERE status = 'pending' ORDER BY seq LIMIT 1"
        ).fetchone()
        return OutboxStats(
            pending=counts.get(STATUS_PENDING, 0),
            delivered=counts.get(STATUS_DELIVERED, 0),
            dead=counts.get(STATUS_DEAD, 0),
            oldest_pending_age_s=0.0 if oldest is None else max(0.0, now - oldest[0]),
        )

    def dead(self, limit: int, offset: int) -> DeadPage:
        total = self._conn.execute("SELECT COUNT(*) FROM webhook_outbox WHERE status = 'dead'").fetchone()[0]
        rows = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM webhook_outbox WHERE status = 'dead'"
            " ORDER BY seq LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return DeadPage(items=[_record(row) for row in rows], total=total)

    def requeue_dead(self, msg_id: str | None, now: float) -> int:
        """Dead rows (one, or all when ``msg_id`` is None) back to pending with a fresh retry budget."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE webhook_outbox SET status = 'pending', attempts = 0, window_start = ?,"
                " next_attempt_at = ?, updated_at = ? WHERE status = 'dead' AND (? IS NULL OR id = ?)",
                (now, now, now, msg_id, msg_id),
            ).rowcount

    def requeue_delivered(self, msg_id: str, now: float) -> int:
        """A delivered row back to pending, same id and body, with a fresh retry budget."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE webhook_outbox SET status = 'pending', attempts = 0, window_start = ?,"
                " next_attempt_at = ?, updated_at = ? WHERE status = 'delivered' AND id = ?",
                (now, now, now, msg_id),
            ).rowcount


def _record(row: tuple[Any, ...]) -> OutboxRecord:
    # Column order is _RECORD_COLUMNS, which is OutboxRecord's field order.
    return OutboxRecord(*row)


def _clip(error: str | None) -> str | None:
    if error is None or len(error) <= LAST_ERROR_MAX_CHARS:
        return error
    return error[: LAST_ERROR_MAX_CHARS - 1] + "…"
