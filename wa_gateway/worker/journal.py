"""The worker's event journal: what a device received is on disk before the engine acknowledges its source.

``DATA_DIR/event-journal.db`` (sqlite, WAL, ``synchronous=FULL``) holds every durable event until the
gateway acknowledges its sequence number, which it does only after its own commits (docs/durability.md).
Appends from one loop iteration share one transaction and one fsync (group commit); the frames go to the
gateway only after that commit, so an acknowledged sequence number is always on disk first. After any
restart the worker replays what is left, with the same sequence numbers and event ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import orjson

from wa_gateway.engine import contract as c

JOURNAL_FILE: Final = "event-journal.db"
BUSY_TIMEOUT_MS: Final = 5000

# State events (connected, QR codes) describe one worker's live connection and are produced afresh by
# the next one; only what the device received must outlive a crash.
DURABLE_EVENTS: Final = c.RECEIVED_EVENTS

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    token      TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);
"""

Frame = dict[str, Any]
SendFrame = Callable[[Frame], None]
JournalBarrier = Callable[[], Awaitable[None]]


@runtime_checkable
class SupportsJournalBarrier(Protocol):
    """A backend that can hold an event's source until the event is journaled (neonize: the Go thread).

    The worker hands it ``EventJournal.flushed``: awaiting it returns once everything emitted so far
    is committed.
    """

    def set_journal_barrier(self, barrier: JournalBarrier) -> None: ...


def event_id(journal_id: str, seq: int, created_ms: int) -> str:
    """The outbox's id format (``evt_`` + 12 hex of Unix ms + 16 hex), derived so a replay repeats it."""
    digest = hashlib.blake2b(f"{journal_id}:{seq}".encode(), digest_size=8).hexdigest()
    return f"evt_{created_ms:012x}{digest}"


@dataclass(slots=True)
class _Entry:
    token: str
    event: str
    data: dict[str, Any]
    seq: int | None
    created_ms: int


class JournalFile:
    """All SQL of the journal; blocking, used only from the journal's own thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit is fsynced, so it survives power loss too (sqlite docs, PRAGMA synchronous).
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT value FROM journal_meta WHERE key = 'id'").fetchone()
        if row is None:
            self.journal_id = secrets.token_hex(8)
            self._conn.execute("INSERT INTO journal_meta (key, value) VALUES ('id', ?)", (self.journal_id,))
        else:
            self.journal_id = str(row[0])
        last = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
        self.last_seq = int(last[0]) if last else 0

    def pending(self) -> list[tuple[int, str, str, bytes, int]]:
        query = "SELECT seq, token, event, data, created_ms FROM journal ORDER BY seq"
        return list(self._conn.execute(query))

    def append(self, rows: list[tuple[int, str, str, bytes, int]], acked: list[int]) -> None:
        """One transaction, one fsync: the new entries, and the deletes of those acknowledged meanwhile."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if acked:
                self._conn.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in acked])
            self._conn.executemany(
                "INSERT INTO journal (seq, token, event, data, created_ms) VALUES (?, ?, ?, ?, ?)", rows
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def delete(self, seqs: list[int]) -> None:
        # Not fsynced: a delete lost to a crash only means one replay, which the outbox deduplicates.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in seqs])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        finally:
            self._conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self._conn.close()


class EventJournal:
    """Orders every event the backend emits; durable ones reach the gateway only after their commit.

    ``path`` None keeps no journal: events pass through in order, without sequence numbers.
    """

    def __init__(self, path: Path | None, send: SendFrame, now_ms: Callable[[], int]) -> None:
        self._path = path
        self._send = send
        self._now_ms = now_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-journal")
        self._file: JournalFile | None = None
        self._journal_id = ""
        self._next_seq = 1
        self._replay_upto = 0
        self._pending: list[_Entry] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._emitted = 0
        self._forwarded = 0
        self._acks: list[int] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._ack_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        if self._path is None:
            return  # no DATA_DIR (some tests): events pass through without a journal
        self._file = await self._run(JournalFile, self._path)
        self._journal_id = self._file.journal_id
        self._next_seq = self._file.last_seq + 1
        self._replay_upto = self._file.last_seq

    async def replay(self) -> int:
        """Sends, once, what earlier runs left unacknowledged; returns how many events."""
        if self._file is None or self._replay_upto == 0:
            return 0
        upto, self._replay_upto = self._replay_upto, 0
        rows = await self._run(self._file.pending)
        sent = 0
        for seq, token, event, data, created_ms in rows:
            if seq <= upto:
                self._send(self._frame(_Entry(token, event, orjson.loads(data), seq, created_ms)))
                sent += 1
        return sent

    def emit(self, token: str, event: str, data: dict[str, Any]) -> None:
        """Queues one event in emission order; never blocks (the backend's ``EmitFn``)."""
        seq: int | None = None
        if event in DURABLE_EVENTS and self._file is not None:
            seq, self._next_seq = self._next_seq, self._next_seq + 1
        self._pending.append(_Entry(token, event, data, seq, self._now_ms()))
        self._emitted += 1
        self._wake()

    async def flushed(self) -> None:
        """Returns once everything emitted so far is committed and handed to the gateway."""
        if not self._pending and self._flush_task is None:
            return
        waiter = asyncio.get_running_loop().create_future()
        # Resolved by the commit that covers the last event emitted so far, not by a later one.
        self._waiters.append((self._emitted, waiter))
        self._wake()
        await asyncio.shield(waiter)

    def ack(self, seqs: Iterable[int]) -> None:
        self._acks.extend(seq for seq in seqs if isinstance(seq, int) and not isinstance(seq, bool))
        # While events arrive, deletes ride along with the next append's transaction; alone, they get
        # their own (unsynced) one.
        if self._acks and self._ack_task is None and self._flush_task is None:
            self._ack_task = asyncio.create_task(self._delete_acked(), name="event-journal-ack")

    async def close(self) -> None:
        # A flush that ends may leave deletes to a new ack task: wait until neither is running.
        while (task := self._flush_task or self._ack_task) is not None:
            await asyncio.shield(task)
        if self._file is not None:
            await self._run(self._file.close)
            self._file = None
        self._executor.shutdown(wait=False)

    def _wake(self) -> None:
        if self._flush_task is None:
            self._flush_task = asyncio.create_task(self._flush(), name="event-journal-flush")

    async def _flush(self) -> None:
        try:
            # One pass of the loop first, so every emit of this iteration joins the same commit.
            await asyncio.sleep(0)
            while self._pending:
                batch, self._pending = self._pending, []
                rows = [
                    (e.seq, e.token, e.event, orjson.dumps(e.data), e.created_ms)
                    for e in batch
                    if e.seq is not None
                ]
                if rows and self._file is not None:
                    acked, self._acks = self._acks, []
                    try:
                        await self._run(self._file.append, rows, acked)
                    except BaseException:
                        self._acks[:0] = acked
                        raise
                for entry in batch:
                    self._send(self._frame(entry))
                self._forwarded += len(batch)
                self._release(lambda target: target <= self._forwarded)
            self._release(lambda target: True)
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else RuntimeError(str(exc))
            for _, waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(failure)
            self._waiters = []
            raise
        finally:
            self._flush_task = None
            if self._acks and self._ack_task is None and self._file is not None:
                self._ack_task = asyncio.create_task(self._delete_acked(), name="event-journal-ack")

    def _release(self, covered: Callable[[int], bool]) -> None:
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, waiter in self._waiters:
            if not covered(target):
                keep.append((target, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = keep

    async def _delete_acked(self) -> None:
        try:
            # A flush that starts meanwhile takes the rest into its own transaction.
            while self._acks and self._file is not None and self._flush_task is None:
                batch, self._acks = self._acks, []
                await self._run(self._file.delete, batch)
        finally:
            self._ack_task = None

    def _frame(self, entry: _Entry) -> Frame:
        frame: Frame = {"type": "event", "token": entry.token, "event": entry.event, "data": entry.data}
        if entry.seq is not None:
            frame["seq"] = entry.seq
            frame["eventId"] = event_id(self._journal_id, entry.seq, entry.created_ms)
        return frame

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
