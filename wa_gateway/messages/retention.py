"""``MESSAGE_RETENTION_DAYS``: messages older than that are deleted, at start-up and then every hour."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from wa_gateway.clock import Clock
from wa_gateway.messages.model import MessageStore, MessageStoreError

log = logging.getLogger("wa_gateway.messages")

DAY_S: Final = 86_400.0
PRUNE_INTERVAL_S: Final = 3_600.0


class MessageRetention:
    def __init__(self, store: MessageStore, clock: Clock, *, days: int) -> None:
        self._store = store
        self._clock = clock
        self.retention_s = days * DAY_S

    async def prune(self) -> int:
        return await self._store.prune(self._clock.time() - self.retention_s)

    @contextlib.asynccontextmanager
    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        pruner = asyncio.create_task(self._prune_forever(), name="message-retention")
        try:
            yield
        finally:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner

    async def _prune_forever(self) -> None:
        while True:
            try:
                removed = await self.prune()
                if removed:
                    log.info("expired messages removed", extra={"messages": removed})
            except MessageStoreError as exc:
                log.warning("message pruning failed", extra={"error": str(exc)})
            await self._clock.sleep(PRUNE_INTERVAL_S)
