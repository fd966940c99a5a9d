"""What every device of one neonize backend shares, and how devices are named in logs and errors."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final

from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.ffi import GoFfi, GoMapLock
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.backends.neonize.shared_store import SharedSessions
from wa_gateway.clock import Clock
from wa_gateway.engine.contract import EmitFn
from wa_gateway.worker.message_cache import MessageCaches

log = logging.getLogger(__name__)

REASON_LIMIT: Final = 300


def mask(token: str) -> str:
    """Phone numbers stay out of logs (docs/go-gateway.md §6)."""
    return f"…{token[-4:]}"


def describe_error(error: BaseException | None) -> str:
    if error is None:
        return "The engine session ended unexpectedly"
    text = " ".join(str(error).split()) or type(error).__name__
    if "dial" in text or "websocket" in text.lower():
        text = f"Cannot reach WhatsApp: {text}"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


async def _no_barrier() -> None:
    """Without a journal (tests that build a backend alone) a handled event is as far as it goes."""


class EngineContext:
    """What every device of one backend shares."""

    def __init__(self, settings: NeonizeSettings, lock: GoMapLock, ffi: GoFfi, clock: Clock) -> None:
        self.settings = settings
        self.lock = lock
        self.ffi = ffi
        self.clock = clock
        self.caches = MessageCaches(settings.message_cache_size)
        self.emit: EmitFn = self._not_started
        # Awaited after a received event is handled, before Go gets its callback back (docs/durability.md).
        self.journal_barrier: Callable[[], Awaitable[None]] = _no_barrier
        # Clients whose Go thread may still call back: their ctypes callbacks must stay alive.
        self.live_clients: set[nc.GatewayClient] = set()
        # Sessions Go ended because it could not marshal an event (the events it still held are lost).
        self.lost_event_sessions = 0
        # Neonize() calls a Stop could not end: each holds an OS thread, a Go client and a database handle.
        self.stuck_sessions = 0
        self.stuck_tasks: set[asyncio.Task[Any]] = set()  # those still inside Go
        # Connected sessions the watchdog found dead and reconnected (docs/engine.md, "Watchdog").
        self.watchdog_reconnects = 0
        self.random = random.Random()  # reconnect jitter; tests put a fixed one here
        # whatsmeow's sessions in PostgreSQL instead of one sqlite file per device (docs/cluster.md).
        self.shared = SharedSessions(settings.database_url) if settings.database_url else None

    @staticmethod
    def _not_started(token: str, event: str, _data: dict[str, Any]) -> None:
        log.warning("event %s for %s dropped: the backend was not started", event, mask(token))
