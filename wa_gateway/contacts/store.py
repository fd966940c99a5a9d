"""Contacts in sqlite, one file per device; every statement runs on the store's own thread, never the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from wa_gateway.clock import Clock
from wa_gateway.contacts.csv_export import csv_rows
from wa_gateway.contacts.model import ContactRow, ContactStoreError, ContactUpsert
from wa_gateway.envelope import utc_timestamp
from wa_gateway.phone import is_valid_token

log = logging.getLogger("wa_gateway.contacts")

T = TypeVar("T")

CONTACTS_DIR: Final = "contacts"
BUSY_TIMEOUT_MS: Final = 5_000
DEFAULT_CHUNK_ROWS: Final = 1_000
# A burst of single-message upserts is committed as one transaction (one WAL sync, not hundreds).
MAX_COALESCED_JOBS: Final = 256
# Well under SQLITE_MAX_VARIABLE_NUMBER on every sqlite build still in use (999 before 3.32).
IN_CLAUSE_CHUNK: Final = 500
SQLITE_FILE_SUFFIXES: Final = ("", "-wal", "-shm", "-journal")

# Same table as the Go gateway (docs/go-gateway.md §4) so its files open unchanged; the index makes paging
# `ORDER BY last_seen DESC, phone` a walk instead of a sort, and the tie-break on phone makes it stable.
_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS contacts (
        phone TEXT PRIMARY KEY,
        name TEXT DEFAULT '',
        source TEXT DEFAULT 'message',
        first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
        last_seen DATETIME DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE INDEX IF NOT EXISTS contacts_by_last_seen ON contacts (last_seen DESC, phone)",
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


def contacts_path(data_dir: Path, token: str) -> Path:
    # The token becomes a file name, so only what the API accepts may reach the file system.
    if not is_valid_token(token):
        raise ValueError(f"not a device token: {token!r}")
    return data_dir / CONTACTS_DIR / f"{token}.db"


@dataclass(slots=True)
class _Job:
    run: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]
    write: bool


@dataclass(slots=True)
class _Stop:
    remove_files: bool


class ContactStore:
    """One device's contacts file, owned by one thread that runs every job in order.

    The event loop only enqueues: upserts that pile up while the thread is busy are committed together,
    and a 50,000-contact history batch costs the loop one queue put.
    """

    def __init__(self, path: Path, clock: Clock, *, after: threading.Thread | None = None) -> None:
        self.path = path
        self._clock = clock
        self._jobs: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._closing = False
        self._removal_error: OSError | None = None
        # A store reopened for a token waits until the previous one has closed (and maybe deleted) the file.
        self._after = after
        self._thread = threading.Thread(target=self._serve, name=f"contacts-{path.stem}", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    async def upsert_many(self, rows: Sequence[ContactUpsert], now: float | None = None) -> list[str]:
        """Store the sightings; return the phones that were not in the table before, in first-seen order."""
        if not rows:
            return []
        batch = list(rows)
        stamp = utc_timestamp(self._clock.time() if now is None else now)
        return await self._submit(lambda conn: _upsert(conn, batch, stamp), write=True)

    async def page(self, limit: int, offset: int) -> tuple[list[ContactRow], int]:
        """Rows ordered by ``last_seen DESC, phone ASC``, and the total count, from one snapshot."""
        return await self._submit(lambda conn: _page(conn, limit, offset), write=False)

    def iter_all(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[list[ContactRow], None]:
        """Every row in page order, ``chunk_size`` at a time, from one snapshot (one running SELECT).

        A separate read connection keeps a long export from holding up writes; WAL lets both run.
        Close the iterator (``contextlib.aclosing``) when stopping early, to release the snapshot.
        """
        return self._scan(_fetch_rows, chunk_size)

    def iter_csv(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> AsyncGenerator[bytes, None]:
        """Like ``iter_all``, as CSV lines (no header) formatted on the reader thread from sqlite's tuples:
        an export of a million rows is then bound by the socket, not by a row object per contact built
        on the loop (BENCHMARKS.md, contacts)."""
        return self._scan(_fetch_csv, chunk_size)

    async def _scan(
        self, fetch: Callable[[sqlite3.Cursor, int], T], chunk_size: int
    ) -> AsyncGenerator[T, None]:
        await self._submit(lambda conn: None, write=False)  # the file and its table exist
        reader = await _off_loop(self._open_reader)
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

    async def close(self, *, remove_files: bool = False) -> None:
        """Finish the queued jobs, close the file (and delete it with its -wal/-shm when asked)."""
        if not self._closing:
            self._closing = True
            self._jobs.put(_Stop(remove_files))
        await asyncio.to_thread(self._thread.join)
        if self._removal_error is not None:
            raise ContactStoreError(f"could not remove {self.path.name}") from self._removal_error

    async def _submit(self, run: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        if self._closing:
            raise ContactStoreError(f"contact store {self.path.name} is closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put(_Job(run, future, write))
        return await asyncio.wrap_future(future)

    # --- the store's thread -----------------------------------------------------------------------

    def _serve(self) -> None:
        if self._after is not None:
            self._after.join()
            self._after = None
        conn: sqlite3.Connection | None = None
        held: _Job | _Stop | None = None
        try:
            while True:
                item = held if held is not None else self._jobs.get()
                held = None
                if isinstance(item, _Stop):
                    if conn is not None:
                        _close_quietly(conn)
                        conn = None
                    if item.remove_files:
                        try:
                            _remove_files(self.path)
                        except OSError as exc:
                            self._removal_error = exc
                    return
                if conn is None:
                    try:
                        conn = self._open_writer()
                    except Exception as exc:  # the next job tries again: a full disk or a lock may pass
                        _fail(item.future, exc)
                        continue
                if not item.write:
                    _run_read(conn, item)
                    continue
                batch = [item]
                while len(batch) < MAX_COALESCED_JOBS:
                    try:
                        following = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(following, _Stop) or not following.write:
                        held = following
                        break
                    batch.append(following)
                _run_writes(conn, batch)
        finally:
            if conn is not None:
                _close_quietly(conn)

    def _open_writer(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits only.
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_reader(self) -> sqlite3.Connection:
        # Used from whichever worker thread runs the next fetch, never two at once.
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = 1")
        return conn


class ContactStores:
    """Contact stores by device token under ``DATA_DIR/contacts/``, opened on first use."""

    def __init__(self, data_dir: Path | str, clock: Clock) -> None:
        self._data_dir = Path(data_dir)
        self._clock = clock
        self._stores: dict[str, ContactStore] = {}
        self._retiring: dict[str, threading.Thread] = {}

    def get(self, token: str) -> ContactStore:
        """The token's store, without blocking: the file is opened on the store's thread.

        Raises ValueError for anything but a device token, which becomes the file name.
        """
        store = self._stores.get(token)
        if store is None:
            path = contacts_path(self._data_dir, token)
            after = self._retiring.pop(token, None)
            store = ContactStore(path, self._clock, after=after if after and after.is_alive() else None)
            self._stores[token] = store
        return store

    async def close(self, token: str) -> None:
        await self._retire(token, remove_files=False)

    async def delete(self, token: str) -> None:
        """Close the token's store and remove its files (the database, -wal and -shm)."""
        self.get(token)  # a store that never opened the file still removes it, in order with later gets
        await self._retire(token, remove_files=True)

    async def close_all(self) -> None:
        tokens = list(self._stores)
        await asyncio.gather(*(self._retire(token, remove_files=False) for token in tokens))
        await asyncio.gather(*(asyncio.to_thread(thread.join) for thread in self._retiring.values()))
        self._retiring.clear()

    async def _retire(self, token: str, *, remove_files: bool) -> None:
        store = self._stores.pop(token, None)
        if store is None:
            return
        self._retiring[token] = store.thread
        try:
            await store.close(remove_files=remove_files)
        finally:
            if self._retiring.get(token) is store.thread:
                del self._retiring[token]


# --- work done on the store's thread ---------------------------------------------------------------


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


def _run_read(conn: sqlite3.Connection, job: _Job) -> None:
    if not job.future.set_running_or_notify_cancel():
        return
    try:
        result = job.run(conn)
    except Exception as exc:
        _fail(job.future, exc)
    else:
        job.future.set_result(result)


def _run_writes(conn: sqlite3.Connection, batch: list[_Job]) -> None:
    # A write whose caller went away is still applied: the sighting happened; only the answer is dropped.
    wanted = [job.future.set_running_or_notify_cancel() for job in batch]
    try:
        results = _in_transaction(conn, [job.run for job in batch])
    except Exception as exc:
        if len(batch) == 1:
            _settle(batch[0], wanted[0], error=exc)
            return
        # One bad job must not sink the others it happened to be batched with.
        for job, answer in zip(batch, wanted, strict=True):
            try:
                (result,) = _in_transaction(conn, [job.run])
            except Exception as single_exc:
                _settle(job, answer, error=single_exc)
            else:
                _settle(job, answer, result=result)
        return
    for job, answer, result in zip(batch, wanted, results, strict=True):
        _settle(job, answer, result=result)


def _in_transaction(conn: sqlite3.Connection, runs: list[Callable[[sqlite3.Connection], Any]]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = [run(conn) for run in runs]
    except BaseException:
        # sqlite has already rolled back by itself after some errors (a full disk, for one).
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return results


def _settle(job: _Job, answer: bool, *, result: Any = None, error: Exception | None = None) -> None:
    if not answer:
        if error is not None:
            log.warning("contact upsert failed after its caller left: %s", error)
        return
    if error is not None:
        _fail(job.future, error)
    else:
        job.future.set_result(result)


def _fail(future: concurrent.futures.Future[Any], exc: BaseException) -> None:
    error = ContactStoreError(f"{type(exc).__name__}: {exc}")
    error.__cause__ = exc
    if future.running() or future.set_running_or_notify_cancel():
        future.set_exception(error)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error as exc:
        log.warning("closing a contacts database failed: %s", exc)


def _remove_files(path: Path) -> None:
    for suffix in SQLITE_FILE_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except sqlite3.Error as exc:
        raise ContactStoreError(f"{type(exc).__name__}: {exc}") from exc
