"""The webhook outbox: every event is committed (``DATA_DIR/webhooks.db``, or PostgreSQL) before anything
tries to send it.

A row is ``pending`` until the receiver answers 2xx (``delivered``) or it is given up (``dead``).
Where rows live is an ``OutboxStore`` (docs/storage.md); this module knows only that interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wa_gateway.clock import Clock, SystemClock
from wa_gateway.envelope import dumps, utc_timestamp
from wa_gateway.webhooks.outbox_store import OutboxRow, OutboxStore
from wa_gateway.webhooks.records import (
    STATUS_DEAD,
    STATUS_DELIVERED,
    STATUS_PENDING,
    Attempt,
    DeadPage,
    OutboxMessage,
    OutboxRecord,
    OutboxStats,
)
from wa_gateway.webhooks.sqlite_store import SqliteOutboxStore

Row = OutboxRow


@dataclass(slots=True)
class _PendingInsert:
    rows: list[Row]
    done: asyncio.Future[None]


def new_event_id(now: float) -> str:
    """``evt_`` + 12 hex digits of Unix milliseconds + 16 random hex digits: unique and roughly sortable."""
    return f"evt_{int(now * 1000):012x}{secrets.token_hex(8)}"


class WebhookOutbox:
    """Durable queue of webhook payloads, one queue per device token.

    ``enqueue`` returns only once the row is committed. Enqueues that arrive while a commit is
    syncing share the next one, so a burst costs one fsync rather than one per event.
    """

    def __init__(self, store: OutboxStore | Path | str, *, clock: Clock | None = None) -> None:
        """``store``: where rows live; a path means a sqlite file there."""
        self._store: OutboxStore = SqliteOutboxStore(Path(store)) if isinstance(store, (Path, str)) else store
        self._clock: Clock = clock or SystemClock()
        self._open = False
        self._inserts: list[_PendingInsert] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._closing = False
        self._listeners: list[Callable[[], None]] = []

    async def open(self) -> None:
        if self._open:
            raise RuntimeError("webhook outbox is already open")
        await self._store.open()
        self._open = True

    async def close(self) -> None:
        if not self._open or self._closing:
            return
        self._closing = True
        if self._flush_task is not None:
            await asyncio.shield(self._flush_task)
        try:
            await self._store.close()
        finally:
            self._open = False

    async def __aenter__(self) -> WebhookOutbox:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the loop) whenever rows were enqueued or put back in a queue."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # --- producers --------------------------------------------------------------------------------

    async def enqueue(self, event: str, token: str, data: Any, event_id: str | None = None) -> str:
        """Store one event; returns its id once the row is committed.

        ``event_id`` (derived from a journaled engine event) makes a replay a no-op: a row with that id
        already stored is kept as it is (docs/durability.md).
        """
        return (await self.enqueue_many([(event, token, data)], [event_id]))[0]

    async def enqueue_many(
        self, events: Iterable[tuple[str, str, Any]], event_ids: Sequence[str | None] = ()
    ) -> list[str]:
        """Store several events in order, committed together; returns their ids."""
        now = self._clock.time()
        timestamp = utc_timestamp(now)
        rows: list[Row] = []
        for index, (event, token, data) in enumerate(events):
            given = event_ids[index] if index < len(event_ids) else None
            msg_id = given or new_event_id(now)
            # Serialised once: these exact bytes are stored, signed and sent on every attempt.
            body = dumps({"id": msg_id, "event": event, "token": token, "data": data, "timestamp": timestamp})
            rows.append((msg_id, event, token, body))
        if not rows:
            return []
        if not self._open or self._closing:
            raise RuntimeError("webhook outbox is not open")
        pending = _PendingInsert(rows, asyncio.get_running_loop().create_future())
        self._inserts.append(pending)
        if self._flush_task is None:
            self._flush_task = asyncio.create_task(self._flush_inserts(), name="webhook-outbox-flush")
        # Shielded: a caller that gives up must not cancel a commit other callers share.
        await asyncio.shield(pending.done)
        return [row[0] for row in rows]

    async def _flush_inserts(self) -> None:
        try:
            while self._inserts:
                batch, self._inserts = self._inserts, []
                try:
                    await self._db().insert([row for item in batch for row in item.rows], self._now())
                except Exception as exc:
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(exc)
                    continue
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
                self._rows_became_due()
        finally:
            self._flush_task = None

    # --- dispatcher -------------------------------------------------------------------------------

    async def due(self, limit: int, skip_tokens: Collection[str] = ()) -> list[OutboxMessage]:
        """Queue heads whose next attempt is due, oldest first, leaving out ``skip_tokens``.

        A row stays ``pending`` while it is being sent, so a crash mid-send means it is sent again
        (at-least-once).
        """
        if limit <= 0:
            return []
        # At most one head per token can be skipped, so this many rows always suffice.
        rows = await self._db().due(self._now(), limit + len(skip_tokens))
        return [row for row in rows if row.token not in skip_tokens][:limit]

    async def next_due_at(self, skip_tokens: Collection[str] = ()) -> float | None:
        """When the soonest queue head outside ``skip_tokens`` is due (Unix seconds; maybe already past)."""
        heads = await self._db().head_times(len(skip_tokens) + 1)
        return next((at for token, at in heads if token not in skip_tokens), None)

    async def mark_delivered(self, msg_id: str, http_status: int) -> None:
        await self._db().record_attempt(
            msg_id, Attempt(STATUS_DELIVERED, None, None, http_status), self._now()
        )

    async def reschedule(
        self, msg_id: str, next_attempt_at: float, error: str, http_status: int | None
    ) -> None:
        attempt = Attempt(STATUS_PENDING, next_attempt_at, error, http_status)
        await self._db().record_attempt(msg_id, attempt, self._now())

    async def mark_dead(self, msg_id: str, error: str, http_status: int | None) -> None:
        await self._db().record_attempt(msg_id, Attempt(STATUS_DEAD, None, error, http_status), self._now())

    async def prune_delivered(self, older_than_s: float) -> int:
        """Delete delivered rows last touched more than ``older_than_s`` ago; returns how many."""
        return await self._db().prune_delivered(self._now() - older_than_s)

    # --- operators --------------------------------------------------------------------------------

    async def get(self, msg_id: str) -> OutboxRecord | None:
        return await self._db().get(msg_id)

    async def stats(self) -> OutboxStats:
        return await self._db().stats(self._now())

    async def dead(self, limit: int, offset: int) -> DeadPage:
        """Dead rows, oldest first, one page of them, with the total count."""
        return await self._db().dead(limit, offset)

    async def retry_dead(self, msg_id: str) -> bool:
        """Put one dead row back in its queue with a fresh retry budget; False when no such dead row."""
        return await self._requeue_dead(msg_id) > 0

    async def retry_all_dead(self) -> int:
        """Put every dead row back in its queue; returns how many."""
        return await self._requeue_dead(None)

    async def redeliver(self, msg_id: str) -> bool:
        """Send a delivered event again with its original id and body; False when no such delivered row.

        The row keeps its place in the device's queue, so it goes out before that device's pending rows.
        """
        count = await self._db().requeue_delivered(msg_id, self._now())
        if count:
            self._rows_became_due()
        return count > 0

    async def _requeue_dead(self, msg_id: str | None) -> int:
        count = await self._db().requeue_dead(msg_id, self._now())
        if count:
            self._rows_became_due()
        return count

    # --- plumbing ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.time()

    def _db(self) -> OutboxStore:
        if not self._open:
            raise RuntimeError("webhook outbox is not open")
        return self._store

    def _rows_became_due(self) -> None:
        for callback in list(self._listeners):
            callback()
