"""The message store's parts as ``create_app`` plugs them in: one object, so the wiring stays a few lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wa_gateway.clock import Clock
from wa_gateway.devices.model import EngineLink
from wa_gateway.lifecycle import CleanupCtx, opened
from wa_gateway.messages.model import MessageStore
from wa_gateway.messages.recorder import MessageRecorder, RecordingEngine
from wa_gateway.messages.retention import MessageRetention
from wa_gateway.messages.sqlite_store import MESSAGES_FILE, SqliteMessageStore


class MessageHistory:
    """The store, what feeds it and what prunes it; with ``retention_days`` 0 there is no store at all."""

    def __init__(self, data_dir: Path, clock: Clock, *, retention_days: int) -> None:
        self.store: MessageStore | None = None
        self._recorder: MessageRecorder | None = None
        self._retention: MessageRetention | None = None
        if retention_days > 0:
            self.store = SqliteMessageStore(data_dir / MESSAGES_FILE)
            self._retention = MessageRetention(self.store, clock, days=retention_days)
            self._recorder = MessageRecorder(self.store, clock, retention_s=self._retention.retention_s)

    def engine(self, engine: EngineLink) -> EngineLink:
        """The engine link handlers should use: sends through it are stored, and commands on stored
        messages carry what the store knows of them."""
        if self.store is None or self._recorder is None:
            return engine
        return RecordingEngine(engine, self._recorder, self.store)

    async def on_event(self, token: str, event: str, data: Mapping[str, Any]) -> None:
        if self._recorder is not None:
            await self._recorder.record_event(token, event, data)

    async def forget_device(self, token: str) -> None:
        if self.store is not None:
            await self.store.delete_device(token)

    def cleanup_ctxs(self) -> list[CleanupCtx]:
        if self.store is None or self._retention is None:
            return []
        return [opened(self.store.open, self.store.close), self._retention.cleanup_ctx]
