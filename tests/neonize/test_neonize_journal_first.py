"""A message Go hands us is journaled before its callback returns to Go (docs/durability.md).

whatsmeow sends WhatsApp the delivery receipt for a message once its event handlers have returned
(whatsmeow ``message.go``, ``handleDecryptedMessage``), so the callback holds Go's thread until the
event's journal commit. The fake calls the real ctypes trampoline from a foreign thread as Go does.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from neonize.utils import build_jid

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, make_paired_db, text_message, wait_until
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.clock import ManualClock
from wa_gateway.engine.ipc import decode_body
from wa_gateway.worker.journal import JOURNAL_FILE, EventJournal, SupportsJournalBarrier
from wa_gateway.worker.journal_log import entries

ALICE = build_jid("15557654321")


class WatchedEvent(threading.Event):
    """The event a Go thread waits on for its journal commit; says once the thread is inside the wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()
        self.timeout: float | None = None

    def wait(self, timeout: float | None = None) -> bool:
        self.timeout = timeout
        self.waiting.set()
        return super().wait(timeout)


class GatedBarrier:
    """A journal barrier the test opens by hand; records what had been emitted when it was reached."""

    def __init__(self, emitted: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.open = asyncio.Event()
        self.reached = asyncio.Event()
        self._emitted = emitted
        self.seen_at_barrier: list[str] = []

    async def __call__(self) -> None:
        self.seen_at_barrier = [event for _, event, _ in self._emitted]
        self.reached.set()
        await self.open.wait()


async def _online(backend: NeonizeBackend, fake_go: FakeGo, settings: NeonizeSettings) -> FakeSession:
    session_db = settings.sessions_dir / f"{TOKEN}.db"
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    return await fake_go.next_session()


@pytest.fixture
async def gated(
    settings: NeonizeSettings, fake_go: FakeGo, clock: ManualClock
) -> AsyncIterator[tuple[NeonizeBackend, GatedBarrier, list[tuple[str, str, dict[str, Any]]]]]:
    emitted: list[tuple[str, str, dict[str, Any]]] = []
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    fake_go.lock = engine.context.lock
    barrier = GatedBarrier(emitted)
    assert isinstance(engine, SupportsJournalBarrier)
    engine.set_journal_barrier(barrier)
    await engine.start(lambda token, event, data: emitted.append((token, event, data)))
    try:
        yield engine, barrier, emitted
    finally:
        barrier.open.set()
        await engine.close()
        fake_go.release()


async def test_the_go_callback_returns_only_after_the_journal_barrier(
    gated: tuple[NeonizeBackend, GatedBarrier, list[tuple[str, str, dict[str, Any]]]],
    fake_go: FakeGo,
    settings: NeonizeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend, barrier, emitted = gated
    made: list[WatchedEvent] = []

    def watched() -> WatchedEvent:
        made.append(WatchedEvent())
        return made[-1]

    monkeypatch.setattr(nc, "threading", SimpleNamespace(Event=watched))
    session = await _online(backend, fake_go, settings)
    returned = threading.Event()

    def go_delivers() -> None:
        session.event(nc.MESSAGE, text_message("hello", ALICE, message_id="IN1"))
        returned.set()

    delivering = asyncio.create_task(asyncio.to_thread(go_delivers))
    await asyncio.wait_for(barrier.reached.wait(), 5)
    assert "message" in barrier.seen_at_barrier  # translated and emitted before the barrier ...
    [journaled] = made
    await wait_until(journaled.waiting.is_set, what="the Go thread waiting for the commit")
    # ... and Go still waits for it: that wait ends only when the event is set (or after 5 s).
    assert journaled.timeout == nc.JOURNAL_WAIT_S
    assert not journaled.is_set()
    assert not returned.is_set()
    barrier.open.set()
    await asyncio.wait_for(delivering, 5)
    assert returned.is_set()
    assert [data["id"] for _, event, data in emitted if event == "message"] == ["IN1"]


async def test_state_events_do_not_wait_for_the_journal(
    gated: tuple[NeonizeBackend, GatedBarrier, list[tuple[str, str, dict[str, Any]]]],
    fake_go: FakeGo,
    settings: NeonizeSettings,
) -> None:
    backend, barrier, emitted = gated
    await _online(backend, fake_go, settings)  # Connected goes through with the barrier shut

    await wait_until(lambda: any(event == "connected" for _, event, _ in emitted), what="connected")
    assert not barrier.reached.is_set()


async def test_a_message_is_in_the_journal_file_when_go_gets_its_callback_back(
    settings: NeonizeSettings, fake_go: FakeGo, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / JOURNAL_FILE
    journal = EventJournal(path, lambda frame: None, lambda: int(time.time() * 1000))
    await journal.open()
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    fake_go.lock = engine.context.lock
    engine.set_journal_barrier(journal.flushed)
    await engine.start(journal.emit)
    try:
        session = await _online(engine, fake_go, settings)

        def go_delivers_then_reads_the_journal() -> list[tuple[str, str]]:
            session.event(nc.MESSAGE, text_message("on disk", ALICE, message_id="IN2"))
            frames = [decode_body(frame[4:]) for _, frame in entries(path)]
            return [(frame["token"], frame["event"]) for frame in frames]

        rows = await asyncio.to_thread(go_delivers_then_reads_the_journal)
        assert rows == [(TOKEN, "message")]
    finally:
        await engine.close()
        fake_go.release()
        await journal.close()
