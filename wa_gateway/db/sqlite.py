"""One sqlite file behind one thread: every store's way to sqlite, so sqlite never runs on the event loop.

The thread owns the file's only writing connection and runs jobs in the order they were submitted. Writes
that queue up while a commit is syncing share the next transaction (one WAL sync for a burst, not one per
row); when a shared transaction fails, its jobs run again one by one so one bad job sinks only itself.
Schemas are versioned with ``PRAGMA user_version``: step N of a store's migrations runs once, in the same
transaction that sets the version to N (docs/storage.md "sqlite").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

log = logging.getLogger("wa_gateway.db")

T = TypeVar("T")

BUSY_TIMEOUT_MS: Final = 5_000
MAX_COALESCED_JOBS: Final = 256
SQLITE_FILE_SUFFIXES: Final = ("", "-wal", "-shm", "-journal")

Synchronous = Literal["FULL", "NORMAL"]
Migration = str | Callable[[sqlite3.Connection], None]
"""A migration step: a SQL script, or a function for a step that must look at the file first."""


class DatabaseClosed(RuntimeError):
    """The database was closed; nothing more runs on it."""


class SchemaTooNew(RuntimeError):
    """The file was written by a newer build than this one."""


@dataclass(slots=True)
class _Job:
    run: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]
    write: bool
    durable: bool


@dataclass(slots=True)
class _Stop:
    remove_files: bool


class SqliteDatabase:
    """One file, one thread. ``synchronous`` is the file's default; ``write(durable=False)`` relaxes one
    commit to NORMAL (in WAL mode NORMAL never corrupts the file, a power cut may lose the last commits)."""

    def __init__(
        self,
        path: Path,
        migrations: Sequence[Migration],
        *,
        name: str,
        synchronous: Synchronous = "NORMAL",
        after: threading.Thread | None = None,
    ) -> None:
        self.path = path
        self._migrations = tuple(migrations)
        self._synchronous = synchronous
        self._jobs: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._closing = False
        self._removal_error: OSError | None = None
        # A file reopened while its previous owner is still closing (and maybe deleting) it waits for that.
        self._after = after
        # Started by the first job, so a database that is built but never used costs no thread.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._started = threading.Lock()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def closed(self) -> bool:
        return self._closing

    async def open(self) -> None:
        """Open the file and migrate it now rather than on the first job; when that fails the database
        is closed and the error raised (a lazily opened one tries again on its next job instead)."""
        try:
            await self.read(lambda conn: None)
        except BaseException:
            await self.close()
            raise

    async def read(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``run`` on the thread, outside any transaction unless it opens one."""
        return await self._submit(run, write=False, durable=True)

    async def write(self, run: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run ``run`` in a write transaction, maybe shared with the writes queued beside it."""
        return await self._submit(run, write=True, durable=durable)

    def open_reader(self) -> sqlite3.Connection:
        """A separate read-only connection (blocking: call it off the loop) for a long scan that must not
        hold up writes; WAL lets both run. Usable from one thread at a time, whichever that is."""
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = 1")
        return conn

    async def close(self, *, remove_files: bool = False) -> None:
        """Finish the queued jobs, close the file, and delete it with its -wal/-shm when asked."""
        if not self._closing:
            self._closing = True
            self._jobs.put(_Stop(remove_files))
            self._start()
        await asyncio.to_thread(self._thread.join)
        if self._removal_error is not None:
            raise OSError(f"could not remove {self.path.name}") from self._removal_error

    async def _submit(self, run: Callable[[sqlite3.Connection], T], *, write: bool, durable: bool) -> T:
        if self._closing:
            raise DatabaseClosed(f"{self.path.name} is closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put(_Job(run, future, write, durable))
        self._start()
        return await asyncio.wrap_future(future)

    def _start(self) -> None:
        with self._started:
            if self._thread.ident is None:
                self._thread.start()

    # --- the thread -------------------------------------------------------------------------------

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
                            remove_sqlite_files(self.path)
                        except OSError as exc:
                            self._removal_error = exc
                    return
                if conn is None:
                    try:
                        conn = self._connect()
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
                self._run_writes(conn, batch)
        finally:
            if conn is not None:
                _close_quietly(conn)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            migrate(conn, self._migrations, self.path.name)
        except BaseException:
            conn.close()
            raise
        return conn

    def _run_writes(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        # A write whose caller went away is still applied: only the answer is dropped.
        wanted = [job.future.set_running_or_notify_cancel() for job in batch]
        try:
            results = self._in_transaction(conn, batch)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], wanted[0], error=exc)
                return
            for job, answer in zip(batch, wanted, strict=True):
                try:
                    (result,) = self._in_transaction(conn, [job])
                except Exception as single_exc:
                    _settle(job, answer, error=single_exc)
                else:
                    _settle(job, answer, result=result)
            return
        for job, answer, result in zip(batch, wanted, results, strict=True):
            _settle(job, answer, result=result)

    def _in_transaction(self, conn: sqlite3.Connection, batch: list[_Job]) -> list[Any]:
        relaxed = self._synchronous == "FULL" and not any(job.durable for job in batch)
        if relaxed:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                results = [job.run(conn) for job in batch]
            except BaseException:
                # sqlite has already rolled back by itself after some errors (a full disk, for one).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return results
        finally:
            if relaxed:
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")


def migrate(conn: sqlite3.Connection, steps: Sequence[Migration], name: str) -> int:
    """Bring the file to ``len(steps)``; returns the version it had. Blocking: the database's thread only."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(steps):
        raise SchemaTooNew(f"{name} has schema version {version}; this build knows {len(steps)}")
    start = version
    for number in range(version + 1, len(steps) + 1):
        step = steps[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if isinstance(step, str):
                for statement in _statements(step):
                    conn.execute(statement)
            else:
                step(conn)
            conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return start


def _statements(script: str) -> list[str]:
    # executescript would commit the migration's transaction first; complete_statement finds the ends.
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return [s for s in statements if s.rstrip(";").strip()]


def remove_sqlite_files(path: Path) -> None:
    for suffix in SQLITE_FILE_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _run_read(conn: sqlite3.Connection, job: _Job) -> None:
    if not job.future.set_running_or_notify_cancel():
        return
    try:
        result = job.run(conn)
    except Exception as exc:
        _fail(job.future, exc)
    else:
        job.future.set_result(result)


def _settle(job: _Job, answer: bool, *, result: Any = None, error: Exception | None = None) -> None:
    if not answer:
        if error is not None:
            log.warning("a write failed after its caller left: %s", error)
        return
    if error is not None:
        _fail(job.future, error)
    else:
        job.future.set_result(result)


def _fail(future: concurrent.futures.Future[Any], exc: BaseException) -> None:
    if future.running() or future.set_running_or_notify_cancel():
        future.set_exception(exc)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error as exc:
        log.warning("closing a sqlite database failed: %s", exc)
