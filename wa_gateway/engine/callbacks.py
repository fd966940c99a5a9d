"""The supervisor's callbacks, run one at a time and in order on one task."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wa_gateway.engine.worker_process import ENGINE_LOGGER
from wa_gateway.tasks import cancel_and_wait

Callback = Callable[..., Awaitable[None] | None]

log = logging.getLogger(ENGINE_LOGGER)


class CallbackQueue:
    """Sync callbacks, or async ones (then awaited), in the order they were scheduled."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Callback, tuple[Any, ...]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="engine-callbacks")

    def schedule(self, callback: Callback, *args: Any) -> None:
        self._queue.put_nowait((callback, args))

    async def stop(self, drain_within: float) -> None:
        """Lets what is queued finish (bounded), then ends the task."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_within)
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            callback, args = await self._queue.get()
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("engine callback %s failed", getattr(callback, "__name__", callback))
            finally:
                self._queue.task_done()
