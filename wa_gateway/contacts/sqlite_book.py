"""One device's contacts in sqlite: only the SQL; the file and its thread are a ``SqliteDatabase``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from wa_gateway.clock import Clock
from wa_gateway.contacts.csv_export import csv_rows
from wa_gateway.contacts.model import ContactRow, ContactStoreError, ContactUpsert
from wa_gateway.db.sqlite import SqliteDatabase
from wa_gateway.envelope import utc_timestamp

T = TypeVar("T")

DEFAULT_CHUNK_ROWS: Final = 1_000
# Well under SQLITE_MAX_VARIABLE_NUMBER on every sqlite build still in use (999 before 3.32).
IN_CLAUSE_CHUNK: Final = 500

# Same table as the Go gateway (docs/go-gateway.md §4) so its files open unchanged (their user_version is 0,
# so step 1 runs on them and finds the table there); the index makes paging
# `ORDER BY last_seen DESC, phone` a walk instead of a sort, and the tie-break on phone makes it stable.
MIGRATIONS: Final = (
    """CREATE TABLE IF NOT EXISTS contacts (
        phone TEXT PRIMARY KEY,
        name TEXT DEFAULT '',
        source TEXT DEFAULT 'message',
        first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
        last_seen DATETIME DEFAULT CURRENT_TIMESTAMP
    );
    CREATE INDEX IF NOT EXISTS contacts_by_last_seen ON contacts (last_seen DESC, phone);""",
)
_COLUMNS: Final = "phone, name, source, first_seen, last_seen"
_ORDER: Final = "ORDER BY last_seen DESC, phone ASC"
# First source and first_seen stick; an empty name never wipes one; a non-empty name wins
# (docs/go-gateway.md §4).
_UPSERT: Final = f"""
    INSERT INTO contacts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (phone) DO UPDATE SET
        name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE contacts.name END,
        last_seen = excluded.last_seen
"""


class ContactStore:
    """One device's contacts file (a ``ContactBook``).

    The event loop only enqueues: upserts that pile up while the thread is busy are committed together,
    and a 50,000-contact history batch costs the loop one queue put.
    """

    def __init__(self, path: Path, clock: Clock, *, after: threading.Thread | None = None) -> None:
        self.path = path
        self._clock = clock
        self._db = SqliteDatabase(path, MIGRATIONS, name=f"contacts-{path.stem}", after=after)

    @property
    def thread(self) -> threading.Thread:
        return self._db.thread

    async def upsert_many(self, rows: Sequence[ContactUpsert], now: float | None = None) -> list[str]:
        """Store the sightings; return the phones that were not in the table before, in first-seen order."""
        if not rows:
            return []
        batch = list(rows)
        stamp = utc_timestamp(self._clock.time() if now is None else now)
        return await self._call(self._db.write, lambda conn: _upsert(conn, batch, stamp))

    async def page(self, limit: int, offset: int) -> tuple[list[ContactRow], int]:
        """Rows ordered by ``last_seen DESC, phone ASC``, and the total count, from one snapshot."""
        return await self._call(self._db.read, lambda conn: _page(conn, limit, offset))

    def iter_all(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[list[ContactRow], None]:
        """Every row in page order, ``chunk_size`` at a time, from one snapshot (one running SELECT).

        A separate read connection keeps a long export from holding up writes.
        Close the iterator (``contextlib.aclosing``) when stopping early, to release the snapshot.
        """
        return self._scan(_fetch_rows, chunk_size)

    def iter_csv(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[bytes, None]:
        """Like ``iter_all``, as CSV lines (no header) formatted on the reader thread from sqlite's tuples:
        an export of a million rows is then bound by the socket, not by a row object per contact built
        on the loop (BENCHMARKS.md, contacts)."""
        return self._scan(_fetch_csv, chunk_size)

    async def close(self, *, remove_files: bool = False) -> None:
        """Finish the queued jobs, close the file (and delete it with its -wal/-shm when asked)."""
        try:
            await self._db.close(remove_files=remove_files)
        except OSError as exc:
            raise ContactStoreError(str(exc)) from exc

    async def _call(self, submit: Callable[[Callable[[sqlite3.Connection], T]], Any], job: Any) -> T:
        try:
            result: T = await submit(job)
        except Exception as exc:
            raise ContactStoreError(f"{type(exc).__name__}: {exc}") from exc
        return result

    async def _scan(
        self, fetch: Callable[[sqlite3.Cursor, int], T], chunk_size: int
    ) -> AsyncGenerator[T, None]:
        await self._call(self._db.read, lambda conn: None)  # the file and its table exist
        reader = await _off_loop(self._db.open_reader)
        cursor = reader.cursor()
        ahead: asyncio.Future[T] | None = None
        try:
            await _off_loop(cursor.execute, f"SELECT {_COLUMNS} FROM contacts {_ORDER}")
            # The next chunk is read while the caller handles this one.
            ahead = asyncio.ensure_future(_off_loop(fetch, cursor, chunk_size))
            while chunk := await ahead:
                ahead = asyncio.ensure_future(_off_loop(fetch, cursor, chunk_size))
                yield chunk
        finally:
            if ahead is not None and not ahead.done():
                # The cursor may be inside a fetch on another thread: let it finish before closing.
                with contextlib.suppress(ContactStoreError):
                    await asyncio.shield(ahead)
            await asyncio.shield(_off_loop(_close_reader, cursor, reader))


def _upsert(conn: sqlite3.Connection, rows: list[ContactUpsert], stamp: str) -> list[str]:
    phones = list(dict.fromkeys(phone for phone, _, _ in rows))
    known: set[str] = set()
    for start in range(0, len(phones), IN_CLAUSE_CHUNK):
        chunk = phones[start : start + IN_CLAUSE_CHUNK]
        marks = ",".join("?" * len(chunk))
        known.update(
            row[0] for row in conn.execute(f"SELECT phone FROM contacts WHERE phone IN ({marks})", chunk)
        )
    conn.executemany(_UPSERT, ((phone, name, source, stamp, stamp) for phone, name, source in rows))
    return [phone for phone in phones if phone not in known]


def _page(conn: sqlite3.Connection, limit: int, offset: int) -> tuple[list[ContactRow], int]:
    with _read_transaction(conn):
        total = int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])
        found = conn.execute(f"SELECT {_COLUMNS} FROM contacts {_ORDER} LIMIT ? OFFSET ?", (limit, offset))
        return [_row(values) for values in found], total


def _fetch_rows(cursor: sqlite3.Cursor, size: int) -> list[ContactRow]:
    return [_row(values) for values in cursor.fetchmany(size)]


def _fetch_csv(cursor: sqlite3.Cursor, size: int) -> bytes:
    return csv_rows(cursor.fetchmany(size))


def _close_reader(cursor: sqlite3.Cursor, reader: sqlite3.Connection) -> None:
    # The cursor first: a statement left running keeps the connection (and its snapshot) alive after close.
    cursor.close()
    reader.close()


def _row(values: tuple[Any, ...]) -> ContactRow:
    phone, name, source, first_seen, last_seen = values
    return ContactRow(str(phone), name or "", source or "", str(first_seen or ""), str(last_seen or ""))


@contextlib.contextmanager
def _read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except sqlite3.Error as exc:
        raise ContactStoreError(f"{type(exc).__name__}: {exc}") from exc
