"""``MESSAGE_RETENTION_DAYS``: messages older than that are deleted, at start-up and then every hour."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from wa_gateway.clock import Clock
from wa_gateway.messages.model import MessageStore, MessageStoreError
from wa_gateway.tasks import Expiry, expire_forever, running

log = logging.getLogger("wa_gateway.messages")

DAY_S: Final = 86_400.0
PRUNE_INTERVAL_S: Final = 3_600.0
PRUNING: Final = Expiry(
    log, "expired messages removed", "messages", "message pruning failed", (MessageStoreError,)
)


class MessageRetention:
    def __init__(self, store: MessageStore, clock: Clock, *, days: int) -> None:
        self._store = store
        self._clock = clock
        self.retention_s = days * DAY_S

    async def prune(self) -> int:
        return await self._store.prune(self._clock.time() - self.retention_s)

    @contextlib.asynccontextmanager
    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        async with running(
            expire_forever(self.prune, self._clock, PRUNE_INTERVAL_S, PRUNING), "message-retention"
        ):
            yield
