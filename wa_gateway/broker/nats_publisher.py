"""Publishes every committed event to the JetStream stream ``WA_EVENTS``, from its own outbox.

A transactional outbox (docs/cluster.md "Events to NATS"): the broker outbox gets each event in the same
flow that commits it for webhooks, and a row is marked delivered only after JetStream acknowledged it, so
nothing uncommitted is published and nothing committed is skipped. Only a device's queue head is ever in
flight, so its events reach the stream in order. A crash between the acknowledgement and the mark
publishes the row again after the restart under the same ``Nats-Msg-Id``, which JetStream drops as a
duplicate within the stream's duplicate window (NATS docs, "JetStream Model Deep Dive: Message
Deduplication").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Final

import nats
from aiohttp import web
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from wa_gateway.clock import Clock, SystemClock
from wa_gateway.redact import mask_url
from wa_gateway.tasks import cancel_and_wait
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.records import OutboxMessage

log = logging.getLogger("wa_gateway.nats")

STREAM: Final = "WA_EVENTS"
SUBJECTS: Final = ("wa.>",)
# Long enough to cover a restart after a crash mid-publish: a replayed id within it is dropped by JetStream.
DUPLICATE_WINDOW_S: Final = 3600.0
BATCH: Final = 64
PUBLISH_TIMEOUT_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 2.0
RETRY_BASE_S: Final = 0.2
RETRY_CAP_S: Final = 30.0

POLL_INTERVAL_S: Final = 5.0
PRUNE_INTERVAL_S: Final = 3600.0
DELIVERED_RETENTION_S: Final = 86400.0
# The outbox's last_status column holds an HTTP status for webhooks; for the broker, 0 means "acknowledged".
ACKNOWLEDGED: Final = 0


def subject(token: str, event: str) -> str:
    return f"wa.{token}.{event}"


def retry_delay(attempts: int, rng: random.Random, cap_s: float = RETRY_CAP_S) -> float:
    """Half jitter over an exponential ceiling, so a fleet of nodes does not retry in step."""
    ceiling = min(cap_s, RETRY_BASE_S * (2 ** min(attempts, 20)))
    return rng.uniform(ceiling / 2, ceiling)


class NatsPublisher:
    def __init__(
        self,
        outbox: WebhookOutbox,
        url: str,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        retry_cap_s: float = RETRY_CAP_S,
    ) -> None:
        self._retry_cap_s = retry_cap_s
        self._outbox = outbox
        self._url = url
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._last_prune = 0.0

    def notify(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._outbox.add_listener(self.notify)
        self._task = asyncio.create_task(self._run(), name="nats-publisher")

    async def stop(self) -> None:
        self._outbox.remove_listener(self.notify)
        task, self._task = self._task, None
        await cancel_and_wait(task)
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    async def _run(self) -> None:
        attempts = 0
        while self._js is None:
            try:
                await self._connect()
            except Exception as exc:  # NATS down at start: keep the events, try again later
                delay = retry_delay(attempts, self._rng, self._retry_cap_s)
                attempts += 1
                log.warning(
                    "nats: cannot connect to %s (%s); retrying in %.1fs", mask_url(self._url), exc, delay
                )
                await asyncio.sleep(delay)
        while True:
            try:
                await self._publish_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("nats: publishing failed unexpectedly")
                await asyncio.sleep(RETRY_BASE_S)

    async def _connect(self) -> None:
        nc = await nats.connect(
            servers=[self._url],
            connect_timeout=CONNECT_TIMEOUT_S,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RETRY_BASE_S * 5,
            error_cb=_quiet,
            disconnected_cb=_disconnected,
            reconnected_cb=_reconnected,
        )
        try:
            js = nc.jetstream()
            await _ensure_stream(js)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js = nc, js
        log.info("nats: publishing events to stream %s at %s", STREAM, mask_url(self._url))

    async def _publish_due(self) -> None:
        now = self._clock.time()
        if now - self._last_prune >= PRUNE_INTERVAL_S:
            self._last_prune = now
            await self._outbox.prune_delivered(DELIVERED_RETENTION_S)
        heads = await self._outbox.due(BATCH)
        if heads:
            # One head per device: devices go in parallel, each device's events one after another.
            await asyncio.gather(*(self._publish(message) for message in heads))
            return
        self._wake.clear()
        next_at = await self._outbox.next_due_at()
        wait = (
            POLL_INTERVAL_S
            if next_at is None
            else max(0.0, min(POLL_INTERVAL_S, next_at - self._clock.time()))
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def _publish(self, message: OutboxMessage) -> None:
        js = self._js
        assert js is not None
        try:
            await js.publish(
                subject(message.token, message.event),
                message.body,
                timeout=PUBLISH_TIMEOUT_S,
                stream=STREAM,
                headers={"Nats-Msg-Id": message.id},
            )
        except Exception as exc:
            # Never given up: a broker outage only delays events (the outbox keeps them).
            delay = retry_delay(message.attempts, self._rng, self._retry_cap_s)
            await self._outbox.reschedule(message.id, self._clock.time() + delay, _describe(exc), None)
            return
        await self._outbox.mark_delivered(message.id, ACKNOWLEDGED)


async def _ensure_stream(js: JetStreamContext) -> None:
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(name=STREAM, subjects=list(SUBJECTS), duplicate_window=DUPLICATE_WINDOW_S)
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _quiet(exc: Exception) -> None:
    log.debug("nats: %s", exc)


async def _disconnected() -> None:
    log.warning("nats: disconnected; events wait in the outbox")


async def _reconnected() -> None:
    log.info("nats: reconnected")


def publisher_ctx(
    outbox: WebhookOutbox | None, url: str, clock: Clock
) -> Callable[[web.Application], AbstractAsyncContextManager[None]]:
    """The cleanup context that opens the broker outbox and runs its publisher (nothing without NATS_URL)."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if outbox is None:
            yield
            return
        await outbox.open()
        publisher = NatsPublisher(outbox, url, clock=clock)
        await publisher.start()
        try:
            yield
        finally:
            await publisher.stop()
            await outbox.close()

    return ctx
