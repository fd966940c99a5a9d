"""The background tasks that components run while they are started: ending them, and the periodic
expiry of what is older than a retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from wa_gateway.clock import Clock


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (None: there is none) and wait until it has ended; its cancellation ends here."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """``work`` runs as a task for the duration of the ``async with``, and has ended when it exits."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        await cancel_and_wait(task)


@dataclass(frozen=True, slots=True)
class Expiry:
    """How a periodic expiry reports itself: ``removed`` is logged with ``{unit: count}`` when something
    went, ``failed`` as a warning when one of ``failures`` was raised (the next round still comes)."""

    log: logging.Logger
    removed: str
    unit: str
    failed: str
    failures: tuple[type[Exception], ...]


async def expire_forever(
    job: Callable[[], Awaitable[int]], clock: Clock, interval_s: float, how: Expiry
) -> None:
    """Run ``job`` now and then every ``interval_s`` on ``clock`` until cancelled."""
    while True:
        try:
            removed = await job()
            if removed:
                how.log.info(how.removed, extra={how.unit: removed})
        except how.failures as exc:
            how.log.warning(how.failed, extra={"error": str(exc)})
        await clock.sleep(interval_s)
