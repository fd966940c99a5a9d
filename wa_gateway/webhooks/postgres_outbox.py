"""The webhook outbox in PostgreSQL (an ``OutboxStore``): one table for every outbox, keyed by ``target``.

Several nodes may share the table. A queue head is *claimed* by the node whose dispatcher took it
(``claimed_by``, ``claimed_until``); another node skips a token whose head is claimed and not expired, so
one dispatcher at a time delivers a device's events, in order. A claim ends with the attempt it was taken
for, or lapses after ``claim_ttl_s`` when its node died mid-send (docs/storage.md "PostgreSQL").
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg

from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.webhooks.outbox_store import OutboxRow, clip_error
from wa_gateway.webhooks.records import Attempt, DeadPage, OutboxMessage, OutboxRecord, OutboxStats

COMPONENT: Final = "webhook_outbox"
GLOBAL_TARGET: Final = ""
CLAIM_TTL_S: Final = 60.0
PRUNE_BATCH_ROWS: Final = 1000
MIGRATIONS: Final = (
    """
CREATE TABLE wa_webhook_outbox (
    seq             bigserial PRIMARY KEY,
    target          text    NOT NULL,
    id              text    NOT NULL,
    event           text    NOT NULL,
    token           text    NOT NULL,
    body            bytea   NOT NULL,
    status          text    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      double precision NOT NULL,
    window_start    double precision NOT NULL,
    next_attempt_at double precision NOT NULL,
    updated_at      double precision NOT NULL,
    last_error      text,
    last_status     integer,
    claimed_by      text,
    claimed_until   double precision,
    UNIQUE (target, id)
);
CREATE INDEX wa_webhook_outbox_queue ON wa_webhook_outbox (target, status, token, seq);
CREATE INDEX wa_webhook_outbox_status ON wa_webhook_outbox (target, status, seq);
""",
)

_RECORD_COLUMNS: Final = (
    "id, event, token, body, status, attempts, created_at, updated_at, next_attempt_at, last_error,"
    " last_status"
)
# The head (lowest seq) of every token's pending queue for this target: only heads are ever sent.
_HEADS: Final = (
    "SELECT DISTINCT ON (token) seq, token, next_attempt_at, claimed_by, claimed_until FROM wa_webhook_outbox"
    " WHERE target = $1 AND status = 'pending' ORDER BY token, seq"
)


class PostgresOutboxStore:
    def __init__(
        self,
        db: PostgresDatabase,
        *,
        target: str = GLOBAL_TARGET,
        node: str,
        claim_ttl_s: float = CLAIM_TTL_S,
    ) -> None:
        """``target``: ``""`` for WEBHOOK_URL's outbox, a device token for that device's own webhook."""
        self._db = db
        self._target = target
        self._node = node
        self._claim_ttl_s = claim_ttl_s

    async def open(self) -> None:
        await self._db.migrate(COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        """The pool is the node's, closed by its owner."""

    async def delete_all(self) -> None:
        """Drop every row of this target (its webhook was removed)."""
        await self._db.pool.execute("DELETE FROM wa_webhook_outbox WHERE target = $1", self._target)

    async def insert(self, rows: list[OutboxRow], now: float) -> None:
        if not rows:
            return
        ids, events, tokens, bodies = (list(column) for column in zip(*rows, strict=True))
        # unnest WITH ORDINALITY keeps list order in seq; ON CONFLICT keeps a replayed id's first copy.
        await self._db.pool.execute(
            "INSERT INTO wa_webhook_outbox (target, id, event, token, body, status, attempts, created_at,"
            " window_start, next_attempt_at, updated_at)"
            " SELECT $1, r.id, r.event, r.token, r.body, 'pending', 0, $6, $6, $6, $6"
            " FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) WITH ORDINALITY"
            " AS r(id, event, token, body, n) ORDER BY r.n"
            " ON CONFLICT (target, id) DO NOTHING",
            self._target,
            ids,
            events,
            tokens,
            bodies,
            now,
        )

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        """Due heads not claimed by another node, claimed for this one before they are returned."""
        rows = await self._db.pool.fetch(
            f"WITH heads AS ({_HEADS}),"
            " picked AS (SELECT seq FROM heads WHERE next_attempt_at <= $2"
            "   AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_until < $2)"
            "   ORDER BY next_attempt_at, seq LIMIT $4)"
            " UPDATE wa_webhook_outbox o SET claimed_by = $3, claimed_until = $2 + $5"
            " FROM picked WHERE o.seq = picked.seq"
            " AND (o.claimed_by IS NULL OR o.claimed_by = $3 OR o.claimed_until < $2)"
            " RETURNING o.seq, o.id, o.event, o.token, o.body, o.attempts, o.created_at, o.window_start,"
            " o.next_attempt_at",
            self._target,
            now,
            self._node,
            limit,
            self._claim_ttl_s,
        )
        rows = sorted(rows, key=lambda r: (r["next_attempt_at"], r["seq"]))
        return [
            OutboxMessage(
                r["seq"],
                r["id"],
                r["event"],
                r["token"],
                bytes(r["body"]),
                r["attempts"],
                r["created_at"],
                r["window_start"],
            )
            for r in rows
        ]

    async def head_times(self, limit: int) -> list[tuple[str, float]]:
        rows = await self._db.pool.fetch(
            f"SELECT token, next_attempt_at FROM ({_HEADS}) h ORDER BY next_attempt_at, seq LIMIT $2",
            self._target,
            limit,
        )
        return [(r["token"], float(r["next_attempt_at"])) for r in rows]

    async def record_attempt(self, msg_id: str, attempt: Attempt, now: float) -> None:
        await self._db.pool.execute(
            "UPDATE wa_webhook_outbox SET status = $3, attempts = attempts + 1,"
            " next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5, last_status = $6,"
            " updated_at = $7, claimed_by = NULL, claimed_until = NULL"
            " WHERE target = $1 AND id = $2 AND status = 'pending'",
            self._target,
            msg_id,
            attempt.status,
            attempt.next_attempt_at,
            clip_error(attempt.error),
            attempt.http_status,
            now,
        )

    async def prune_delivered(self, cutoff: float) -> int:
        removed = 0
        while True:
            result = await self._db.pool.execute(
                "DELETE FROM wa_webhook_outbox WHERE seq IN (SELECT seq FROM wa_webhook_outbox"
                " WHERE target = $1 AND status = 'delivered' AND updated_at < $2 LIMIT $3)",
                self._target,
                cutoff,
                PRUNE_BATCH_ROWS,
            )
            count = _count(result)
            removed += count
            if count < PRUNE_BATCH_ROWS:
                return removed

    async def get(self, msg_id: str) -> OutboxRecord | None:
        row = await self._db.pool.fetchrow(
            f"SELECT {_RECORD_COLUMNS} FROM wa_webhook_outbox WHERE target = $1 AND id = $2",
            self._target,
            msg_id,
        )
        return None if row is None else _record(row)

    async def stats(self, now: float) -> OutboxStats:
        async with self._db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            counts = {
                r["status"]: r["n"]
                for r in await conn.fetch(
                    "SELECT status, COUNT(*) AS n FROM wa_webhook_outbox WHERE target = $1 GROUP BY status",
                    self._target,
                )
            }
            oldest = await conn.fetchval(
                "SELECT created_at FROM wa_webhook_outbox WHERE target = $1 AND status = 'pending'"
                " ORDER BY seq LIMIT 1",
                self._target,
            )
        return OutboxStats.from_counts(counts, oldest, now)

    async def dead(self, limit: int, offset: int) -> DeadPage:
        async with self._db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            total = await conn.fetchval(
                "SELECT COUNT(*) FROM wa_webhook_outbox WHERE target = $1 AND status = 'dead'", self._target
            )
            rows = await conn.fetch(
                f"SELECT {_RECORD_COLUMNS} FROM wa_webhook_outbox WHERE target = $1 AND status = 'dead'"
                " ORDER BY seq LIMIT $2 OFFSET $3",
                self._target,
                limit,
                offset,
            )
        return DeadPage(items=[_record(r) for r in rows], total=int(total))

    async def requeue_dead(self, msg_id: str | None, now: float) -> int:
        return _count(
            await self._db.pool.execute(
                "UPDATE wa_webhook_outbox SET status = 'pending', attempts = 0, window_start = $2,"
                " next_attempt_at = $2, updated_at = $2 WHERE target = $1 AND status = 'dead'"
                " AND ($3::text IS NULL OR id = $3)",
                self._target,
                now,
                msg_id,
            )
        )

    async def requeue_delivered(self, msg_id: str, now: float) -> int:
        return _count(
            await self._db.pool.execute(
                "UPDATE wa_webhook_outbox SET status = 'pending', attempts = 0, window_start = $2,"
                " next_attempt_at = $2, updated_at = $2"
                " WHERE target = $1 AND status = 'delivered' AND id = $3",
                self._target,
                now,
                msg_id,
            )
        )


def _record(row: asyncpg.Record) -> OutboxRecord:
    values: list[Any] = list(row.values())
    values[3] = bytes(values[3])
    return OutboxRecord(*values)


def _count(status: str) -> int:
    # asyncpg returns the command tag, e.g. "UPDATE 3" or "DELETE 0".
    return int(status.rsplit(" ", 1)[-1])
