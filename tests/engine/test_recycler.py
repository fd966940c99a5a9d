"""When a recycle is due and when its quiet moment comes, on a ManualClock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from tests.engine.conftest import advance, wait_until
from wa_gateway.clock import ManualClock
from wa_gateway.engine.recycler import Recycler
from wa_gateway.engine.worker_session import WorkerSession


def busy_session() -> Any:
    return SimpleNamespace(idle=asyncio.Event())  # a request is in flight


def idle_session() -> Any:
    session = busy_session()
    session.idle.set()
    return session


async def test_below_the_threshold_or_switched_off_nothing_is_due() -> None:
    clock = ManualClock()
    switched_off = Recycler(0, clock)
    switched_off.observe(1000)
    assert not switched_off.due
    recycler = Recycler(3, clock)
    recycler.observe(2)
    assert not recycler.due
    # The quiet moment waits for the recycle to be due, and only for that: the worker is idle.
    waiting = asyncio.ensure_future(recycler.quiet_moment(cast(WorkerSession, idle_session())))
    recycler.observe(3)
    assert await waiting == "3 engine threads could not be stopped (threshold 3)"
    assert clock.sleepers == 0


async def test_a_due_recycle_waits_for_the_last_request_to_finish() -> None:
    clock = ManualClock()
    recycler = Recycler(3, clock, quiet_wait_s=30)
    session = busy_session()
    recycler.observe(3)
    waiting = asyncio.ensure_future(recycler.quiet_moment(cast(WorkerSession, session)))
    # Its quiet-wait timer on the clock means it is waiting for the first of idle and timer.
    await wait_until(lambda: clock.sleepers == 1, what="the quiet wait started")
    assert not waiting.done()
    session.idle.set()
    assert await waiting == "3 engine threads could not be stopped (threshold 3)"


async def test_a_worker_that_is_never_idle_is_recycled_after_the_quiet_wait() -> None:
    clock = ManualClock()
    recycler = Recycler(1, clock, quiet_wait_s=30)
    recycler.observe(5)
    waiting = asyncio.ensure_future(recycler.quiet_moment(cast(WorkerSession, busy_session())))
    await advance(clock, 29)
    assert not waiting.done()
    await advance(clock, 1)
    assert "5 engine threads" in await waiting


async def test_a_new_worker_starts_with_nothing_due() -> None:
    clock = ManualClock()
    recycler = Recycler(1, clock)
    recycler.observe(1)
    recycler.new_worker()
    assert not recycler.due
    waiting = asyncio.ensure_future(recycler.quiet_moment(cast(WorkerSession, idle_session())))
    recycler.observe(1)  # due again only from the new worker's own heartbeat
    assert "1 engine threads" in await waiting
