"""Engine events, routed to one ordered queue per device.

Engine events for a token are applied by one consumer task per token, in the order the engine sent them,
so one device's slow work (a large history sync) never delays another's. A journaled event is
acknowledged to the engine once applied (its webhooks and contacts committed; docs/durability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wa_gateway.engine import contract as c
from wa_gateway.event_ids import CURRENT_ORIGIN, EventOrigin

log = logging.getLogger("wa_gateway.devices")

ApplyFn = Callable[[str, str, dict[str, Any]], Awaitable[None]]
AckFn = Callable[[list[int]], None]
_Queued = tuple[str, dict[str, Any], c.EventStamp | None]


class EventRouter:
    def __init__(self, apply: ApplyFn, ack: AckFn | None = None) -> None:
        self._apply = apply
        self._ack = ack
        self._acks: list[int] = []
        self._queues: dict[str, asyncio.Queue[_Queued]] = {}
        self._consumers: dict[str, asyncio.Task[None]] = {}

    def route(self, token: str, event: str, data: dict[str, Any], stamp: c.EventStamp | None = None) -> None:
        queue = self._queues.get(token)
        if queue is None:
            queue = self._queues[token] = asyncio.Queue()
            self._consumers[token] = asyncio.create_task(self._consume(token, queue), name=f"events-{token}")
        queue.put_nowait((event, data, stamp))

    def drop_queued(self) -> None:
        """Forget what is still queued: state events of a dead connection, and journaled events the next
        worker replays."""
        for queue in self._queues.values():
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()

    async def drain(self, within: float) -> None:
        """Let queued events finish (bounded), so they reach the outbox before it closes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                for queue in list(self._queues.values()):
                    await queue.join()

    async def close(self) -> None:
        consumers = list(self._consumers.values())
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)

    async def _consume(self, token: str, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            event, data, stamp = await queue.get()
            origin = CURRENT_ORIGIN.set(EventOrigin(stamp.event_id) if stamp is not None else None)
            try:
                await self._apply(token, event, data)
            except Exception:
                # Not acknowledged: the journal keeps it, and the next worker replays it.
                log.exception("failed to apply engine event", extra={"event": event})
            else:
                if stamp is not None:
                    self._acknowledge(stamp.seq)
            finally:
                CURRENT_ORIGIN.reset(origin)
                queue.task_done()

    def _acknowledge(self, seq: int) -> None:
        if self._ack is None:
            return
        if not self._acks:
            # Acks of one loop iteration travel in one frame.
            asyncio.get_running_loop().call_soon(self._flush_acks)
        self._acks.append(seq)

    def _flush_acks(self) -> None:
        seqs, self._acks = self._acks, []
        if self._ack is not None:
            self._ack(seqs)
