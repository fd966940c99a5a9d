"""Contacts in PostgreSQL: one table for every device, keyed by (token, phone); a ``ContactLibrary``.

Same rules as the sqlite book (docs/go-gateway.md §4): first source and first_seen stick, an empty name
never wipes one, a non-empty name wins; pages ordered by ``last_seen DESC, phone``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, Final

import asyncpg

from wa_gateway.clock import Clock
from wa_gateway.contacts.csv_export import csv_rows
from wa_gateway.contacts.model import ContactRow, ContactStoreError, ContactUpsert
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.envelope import utc_timestamp
from wa_gateway.phone import is_valid_token

DEFAULT_CHUNK_ROWS: Final = 1_000
MIGRATIONS: Final = (
    """
CREATE TABLE wa_contacts (
    token text NOT NULL,
    phone text NOT NULL,
    name text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT 'message',
    first_seen text NOT NULL,
    last_seen text NOT NULL,
    PRIMARY KEY (token, phone)
);
CREATE INDEX wa_contacts_by_last_seen ON wa_contacts (token, last_seen DESC, phone);
""",
)
_COLUMNS: Final = "phone, name, source, first_seen, last_seen"
_ORDER: Final = "ORDER BY last_seen DESC, phone ASC"
# xmax = 0 only on a row this statement inserted (PostgreSQL manual, "System Columns").
_UPSERT: Final = f"""
INSERT INTO wa_contacts (token, {_COLUMNS})
SELECT $1, r.phone, r.name, r.source, $4, $4
FROM unnest($2::text[], $3::text[], $5::text[]) AS r(phone, name, source)
ON CONFLICT (token, phone) DO UPDATE SET
    name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE wa_contacts.name END,
    last_seen = excluded.last_seen
RETURNING phone, (xmax = 0) AS inserted
"""


class PostgresContactBook:
    def __init__(self, db: PostgresDatabase, token: str, clock: Clock) -> None:
        self._db = db
        self._token = token
        self._clock = clock

    async def upsert_many(self, rows: Sequence[ContactUpsert], now: float | None = None) -> list[str]:
        if not rows:
            return []
        stamp = utc_timestamp(self._clock.time() if now is None else now)
        # One row per phone, as the sqlite book's upserts one after another leave it: the first source,
        # the last non-empty name (ON CONFLICT cannot touch one row twice in a statement).
        merged: dict[str, list[str]] = {}
        for phone, name, source in rows:
            seen = merged.get(phone)
            if seen is None:
                merged[phone] = [name, source]
            elif name:
                seen[0] = name
        phones = list(merged)
        try:
            result = await self._db.pool.fetch(
                _UPSERT,
                self._token,
                phones,
                [merged[p][0] for p in phones],
                stamp,
                [merged[p][1] for p in phones],
            )
        except (asyncpg.PostgresError, OSError) as exc:
            raise ContactStoreError(f"{type(exc).__name__}: {exc}") from exc
        inserted = {r["phone"] for r in result if r["inserted"]}
        return [phone for phone in phones if phone in inserted]

    async def page(self, limit: int, offset: int) -> tuple[list[ContactRow], int]:
        try:
            async with self._db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
                total = await conn.fetchval("SELECT COUNT(*) FROM wa_contacts WHERE token = $1", self._token)
                found = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM wa_contacts WHERE token = $1 {_ORDER} LIMIT $2 OFFSET $3",
                    self._token,
                    limit,
                    offset,
                )
        except (asyncpg.PostgresError, OSError) as exc:
            raise ContactStoreError(f"{type(exc).__name__}: {exc}") from exc
        return [_row(tuple(r)) for r in found], int(total)

    def iter_all(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[list[ContactRow], None]:
        return self._scan(chunk_size, lambda rows: [_row(r) for r in rows])

    def iter_csv(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[bytes, None]:
        return self._scan(chunk_size, csv_rows)

    async def _scan(self, chunk_size: int, shape: Any) -> AsyncGenerator[Any, None]:
        # One snapshot: a server-side cursor inside one read-only transaction.
        async with (
            self._db.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await conn.cursor(
                f"SELECT {_COLUMNS} FROM wa_contacts WHERE token = $1 {_ORDER}", self._token
            )
            while chunk := await cursor.fetch(chunk_size):
                yield shape([tuple(r) for r in chunk])


class PostgresContactBooks:
    def __init__(self, db: PostgresDatabase, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def open(self) -> None:
        await self._db.migrate("contacts", MIGRATIONS)

    def get(self, token: str) -> PostgresContactBook:
        if not is_valid_token(token):
            raise ValueError(f"not a device token: {token!r}")
        return PostgresContactBook(self._db, token, self._clock)

    async def close(self, token: str) -> None:
        """Nothing is held per device."""

    async def delete(self, token: str) -> None:
        await self._db.pool.execute("DELETE FROM wa_contacts WHERE token = $1", token)

    async def close_all(self) -> None:
        """The pool is the node's, closed by its owner."""


def _row(values: tuple[Any, ...]) -> ContactRow:
    phone, name, source, first_seen, last_seen = values
    return ContactRow(str(phone), name or "", source or "", str(first_seen or ""), str(last_seen or ""))
