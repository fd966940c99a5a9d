"""The worker's event journal: what a device received is on disk before the engine acknowledges its source.

``DATA_DIR/event-journal.log`` (``journal_log.py``) holds every durable event until the gateway
acknowledges its sequence number, which it does only after its own commits (docs/durability.md). Appends
from one loop iteration share one write and one fdatasync (group commit); the frames go to the gateway
only after that sync, so an acknowledged sequence number is always on disk first. An entry is the event's
IPC frame, encoded once: the same bytes are written to the file and sent, and sent again on replay, with
the same sequence number and event id. A sqlite journal of an earlier version is taken over at open.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from wa_gateway.engine import contract as c
from wa_gateway.engine.ipc import FrameTooLarge, encode_frame
from wa_gateway.worker.journal_legacy import LEGACY_JOURNAL_FILE, read_legacy, remove_legacy
from wa_gateway.worker.journal_log import JournalLog, Seed

JOURNAL_FILE: Final = "event-journal.log"

# State events (connected, QR codes) describe one worker's live connection and are produced afresh by
# the next one; only what the device received must outlive a crash.
DURABLE_EVENTS: Final = c.RECEIVED_EVENTS
# Acknowledgements ride along with the next append; with no append that soon they get a write of their
# own. Never synced: a lost one costs one replay, which the outbox deduplicates.
ACK_WRITE_DELAY_S: Final = 0.2

Frame = dict[str, Any]
# A frame is either a message for the IPC writer to encode, or a durable event's frame already encoded.
SendFrame = Callable[[Frame | bytes], None]
JournalBarrier = Callable[[], Awaitable[None]]

log = logging.getLogger("wa_gateway.engine.worker")


@runtime_checkable
class SupportsJournalBarrier(Protocol):
    """A backend that can hold an event's source until the event is journaled (neonize: the Go thread).

    The worker hands it ``EventJournal.flushed``: awaiting it returns once everything emitted so far
    is committed.
    """

    def set_journal_barrier(self, barrier: JournalBarrier) -> None: ...


EventIds = Callable[[int, int], str]


def event_ids(journal_id: str) -> EventIds:
    """``event_id`` for one journal: its id is hashed once, each event adds only its sequence number."""
    prefix = hashlib.blake2b(f"{journal_id}:".encode(), digest_size=8)

    def make(seq: int, created_ms: int) -> str:
        digest = prefix.copy()
        digest.update(str(seq).encode())
        return f"evt_{created_ms:012x}{digest.hexdigest()}"

    return make


def event_id(journal_id: str, seq: int, created_ms: int) -> str:
    """The outbox's id format (``evt_`` + 12 hex of Unix ms + 16 hex), derived so a replay repeats it."""
    return event_ids(journal_id)(seq, created_ms)


@dataclass(slots=True)
class _Entry:
    token: str
    event: str
    data: dict[str, Any]
    seq: int | None
    created_ms: int


def _frame(ids: EventIds, entry: _Entry) -> Frame:
    frame: Frame = {"type": "event", "token": entry.token, "event": entry.event, "data": entry.data}
    if entry.seq is not None:
        frame["seq"] = entry.seq
        frame["eventId"] = ids(entry.seq, entry.created_ms)
    return frame


def open_log(path: Path) -> JournalLog:
    """Opens the journal file, taking over the entries of a sqlite journal beside it (blocking)."""
    legacy_path = path.with_name(LEGACY_JOURNAL_FILE)
    legacy = read_legacy(legacy_path)
    seed = None
    if legacy is not None and not path.exists():
        entries = [_Entry(e.token, e.event, e.data, e.seq, e.created_ms) for e in legacy.entries]
        ids = event_ids(legacy.journal_id)
        framed = [(e.seq, encode_frame(_frame(ids, e))) for e in entries if e.seq]
        seed = Seed(legacy.journal_id, legacy.last_seq, framed)
    journal = JournalLog(path, seed)
    if legacy_path.exists():
        # Only once the journal file holding its entries is synced (or was, by an earlier start).
        remove_legacy(legacy_path)
    return journal


class EventJournal:
    """Orders every event the backend emits; durable ones reach the gateway only after their commit.

    ``path`` None keeps no journal: events pass through in order, without sequence numbers.
    """

    def __init__(
        self,
        path: Path | None,
        send: SendFrame,
        now_ms: Callable[[], int],
        ack_write_delay_s: float = ACK_WRITE_DELAY_S,
    ) -> None:
        self._path = path
        self._ack_write_delay_s = ack_write_delay_s
        self._send = send
        self._now_ms = now_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-journal")
        self._file: JournalLog | None = None
        self._ids = event_ids("")
        self._next_seq = 1
        self._replay_upto = 0
        self._pending: list[_Entry] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._emitted = 0
        self._forwarded = 0
        self._acks: list[int] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._ack_task: asyncio.Task[None] | None = None
        self._ack_timer: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        if self._path is None:
            return  # no DATA_DIR (some tests): events pass through without a journal
        self._file = await self._run(open_log, self._path)
        self._ids = event_ids(self._file.journal_id)
        self._next_seq = self._file.last_seq + 1
        self._replay_upto = self._file.last_seq

    async def replay(self) -> int:
        """Sends, once, what earlier runs left unacknowledged; returns how many events."""
        if self._file is None or self._replay_upto == 0:
            return 0
        upto, self._replay_upto = self._replay_upto, 0
        rows = await self._run(self._file.pending)
        sent = 0
        for seq, frame in rows:
            if seq <= upto:
                self._send(frame)
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
        self._schedule_ack_write()

    async def close(self) -> None:
        # A flush that ends may leave acknowledgements to a new ack task: wait until neither is running.
        while (task := self._flush_task or self._ack_task) is not None:
            await asyncio.shield(task)
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        if self._file is not None:
            acked, self._acks = self._acks, []
            await self._run(self._file.ack, acked)
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
                frames = [self._encoded(entry) for entry in batch]
                rows = [(e.seq, f) for e, f in zip(batch, frames, strict=True) if e.seq and f is not None]
                if rows and self._file is not None:
                    acked, self._acks = self._acks, []
                    try:
                        await self._run(self._file.append, rows, acked)
                    except BaseException:
                        self._acks[:0] = acked
                        raise
                for entry, frame in zip(batch, frames, strict=True):
                    if entry.seq is None:
                        self._send(_frame(self._ids, entry))
                    elif frame is not None:
                        self._send(frame)
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
            self._schedule_ack_write()

    def _release(self, covered: Callable[[int], bool]) -> None:
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, waiter in self._waiters:
            if not covered(target):
                keep.append((target, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = keep

    def _schedule_ack_write(self) -> None:
        if self._acks and self._ack_timer is None and self._file is not None:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(self._ack_write_delay_s, self._start_ack_write)

    def _start_ack_write(self) -> None:
        self._ack_timer = None
        if self._flush_task is not None:
            return  # the flush takes them along, or schedules this again when it ends
        if self._ack_task is None:
            self._ack_task = asyncio.create_task(self._write_acks(), name="event-journal-ack")

    async def _write_acks(self) -> None:
        try:
            # A flush that starts meanwhile takes the rest into its own write.
            while self._acks and self._file is not None and self._flush_task is None:
                batch, self._acks = self._acks, []
                await self._run(self._file.ack, batch)
        finally:
            self._ack_task = None

    def _encoded(self, entry: _Entry) -> bytes | None:
        """A durable event's IPC frame, the bytes both journaled and sent; None if it cannot be one."""
        if entry.seq is None:
            return None
        try:
            return encode_frame(_frame(self._ids, entry))
        except (TypeError, FrameTooLarge) as exc:
            # Journaled, it would fail the same way on every replay.
            log.error("cannot journal %s event %d: %s", entry.event, entry.seq, exc)
            return None

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
