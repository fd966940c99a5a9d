"""Each device's own webhook: a target, its own outbox file and its own dispatcher.

A separate outbox per target gives every target the guarantees WEBHOOK_URL has (committed before it is
shown anywhere, order per device, retries, dead letters) without a receiver that is down holding up
another target's queue (docs/device-webhooks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from wa_gateway.clock import Clock
from wa_gateway.events.model import Event
from wa_gateway.webhooks.dispatcher import WebhookDispatcher
from wa_gateway.webhooks.outbox import WebhookOutbox, new_event_id
from wa_gateway.webhooks.targets import TargetStore, WebhookTarget

OUTBOX_DIR: Final = "webhooks"
_SQLITE_SUFFIXES: Final = ("", "-wal", "-shm", "-journal")

DispatcherFactory = Callable[[WebhookOutbox, WebhookTarget], WebhookDispatcher]


@dataclass(slots=True)
class _Live:
    target: WebhookTarget
    outbox: WebhookOutbox
    dispatcher: WebhookDispatcher


class DeviceWebhooks:
    def __init__(
        self,
        store: TargetStore,
        data_dir: Path,
        make_dispatcher: DispatcherFactory,
        clock: Clock,
        *,
        make_outbox: Callable[[str], WebhookOutbox] | None = None,
        drop_outbox: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``make_outbox``/``drop_outbox``: a device's outbox elsewhere than ``data_dir/webhooks/<token>.db``
        (PostgreSQL, docs/storage.md)."""
        self._store = store
        self._dir = data_dir / OUTBOX_DIR
        self._make_dispatcher = make_dispatcher
        self._clock = clock
        self._make_outbox = make_outbox or (lambda token: WebhookOutbox(self.outbox_path(token), clock=clock))
        self._drop_outbox = drop_outbox or (lambda token: asyncio.to_thread(self._unlink, token))
        self._live: dict[str, _Live] = {}
        self._lock = asyncio.Lock()

    def outbox_path(self, token: str) -> Path:
        return self._dir / f"{token}.db"

    async def open(self) -> None:
        await self._store.open()
        for target in await self._store.all():
            await self._start(target)

    async def close(self) -> None:
        async with self._lock:
            for token in list(self._live):
                await self._stop(token)
        await self._store.close()

    def get(self, token: str) -> WebhookTarget | None:
        live = self._live.get(token)
        return live.target if live is not None else None

    def outboxes(self) -> list[WebhookOutbox]:
        return [live.outbox for live in self._live.values()]

    async def set(self, target: WebhookTarget) -> None:
        """Save the target and (re)start its delivery; events already queued go to the new URL."""
        async with self._lock:
            await self._store.put(target)
            live = self._live.get(target.token)
            if live is None:
                await self._start(target)
                return
            # The outbox stays open throughout, so no event is missed while the dispatcher is replaced.
            await live.dispatcher.stop()
            live.dispatcher = self._make_dispatcher(live.outbox, target)
            live.target = target
            await live.dispatcher.start()

    async def remove(self, token: str) -> bool:
        """Forget the target and drop what was still queued for it."""
        async with self._lock:
            existed = await self._store.delete(token)
            if token in self._live:
                await self._stop(token)
                await self._drop_outbox(token)
            return existed

    def has(self, token: str) -> bool:
        return token in self._live

    async def enqueue(self, event: str, token: str, data: Any, event_id: str | None = None) -> str | None:
        live = self._live.get(token)
        if live is None or not live.target.wants(event):
            return None
        return await live.outbox.enqueue(event, token, data, event_id)

    async def _start(self, target: WebhookTarget) -> None:
        outbox = self._make_outbox(target.token)
        await outbox.open()
        dispatcher = self._make_dispatcher(outbox, target)
        await dispatcher.start()
        self._live[target.token] = _Live(target, outbox, dispatcher)

    async def _stop(self, token: str) -> None:
        live = self._live.pop(token, None)
        if live is None:
            return
        await live.dispatcher.stop()
        await live.outbox.close()

    def _unlink(self, token: str) -> None:
        base = self.outbox_path(token)
        for suffix in _SQLITE_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                base.with_name(base.name + suffix).unlink()


class WebhookFanOut:
    """What the event bus commits a webhook event to: WEBHOOK_URL's outbox, then the device's own target."""

    def __init__(
        self,
        global_outbox: WebhookOutbox | None,
        devices: DeviceWebhooks,
        clock: Clock,
        *,
        global_gets_all: bool = True,
        broker: WebhookOutbox | None = None,
    ) -> None:
        """``global_gets_all=False`` (WEBHOOK_GLOBAL=false): a device with its own webhook is left out
        of WEBHOOK_URL. ``broker``: the NATS outbox, which gets every event (docs/cluster.md)."""
        self._global = global_outbox
        self._devices = devices
        self._clock = clock
        self._global_gets_all = global_gets_all
        self._broker = broker

    async def on_event(self, event: Event) -> None:
        """The bus's subscriber: the event's id is the same in every outbox and on the WebSocket."""
        await self.enqueue(event.name, event.token, event.data, event.id)

    async def enqueue(self, event: str, token: str, data: Any, event_id: str | None = None) -> str:
        # One id for every target: a replayed engine event carries the id it was first stored under, and
        # each outbox keeps its first copy (docs/durability.md).
        global_id = None
        if self._global is not None and (self._global_gets_all or not self._devices.has(token)):
            global_id = await self._global.enqueue(event, token, data, event_id)
        device_id = await self._devices.enqueue(event, token, data, global_id or event_id)
        stored_id = global_id or device_id or event_id or new_event_id(self._clock.time())
        if self._broker is not None:
            await self._broker.enqueue(event, token, data, stored_id)
        return stored_id
