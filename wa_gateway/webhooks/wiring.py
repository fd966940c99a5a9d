"""Every outbox the gateway commits events to, their dispatchers, and the order they open and close in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from wa_gateway import __version__
from wa_gateway.broker.nats_publisher import publisher_ctx
from wa_gateway.clock import Clock
from wa_gateway.config import Settings
from wa_gateway.db.stores import BROKER_TARGET, Stores
from wa_gateway.lifecycle import CleanupCtx, opened
from wa_gateway.webhooks.dispatcher import WebhookDispatcher
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.per_device import DeviceWebhooks, WebhookFanOut
from wa_gateway.webhooks.targets import WebhookTarget

# Backoff grows to one hour between attempts; with WEBHOOK_MAX_ATTEMPTS=150 that spans the three days
# of WEBHOOK_MAX_AGE_SECONDS, the window Standard Webhooks recommends for retries.
WEBHOOK_RETRY_CAP_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """The global outbox (with WEBHOOK_URL), the per-device ones, the broker's (with NATS_URL), and the
    fan-out that commits each event to all of them."""

    outbox: WebhookOutbox | None
    dispatcher: WebhookDispatcher | None
    device_webhooks: DeviceWebhooks
    broker_outbox: WebhookOutbox | None
    fan_out: WebhookFanOut

    def outboxes(self) -> list[WebhookOutbox]:
        """Every webhook outbox an event id may be redelivered from (not the broker's)."""
        mine = [self.outbox] if self.outbox is not None else []
        return mine + self.device_webhooks.outboxes()

    def cleanup_ctxs(self, settings: Settings, clock: Clock) -> list[CleanupCtx]:
        return [
            opened(self.device_webhooks.open, self.device_webhooks.close),
            self._global_ctx,
            publisher_ctx(self.broker_outbox, settings.nats_url, clock),
        ]

    @contextlib.asynccontextmanager
    async def _global_ctx(self, app: web.Application) -> AsyncIterator[None]:
        outbox, dispatcher = self.outbox, self.dispatcher
        if outbox is None or dispatcher is None:
            yield
            return
        await outbox.open()
        outbox.add_listener(dispatcher.notify)
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()
            await outbox.close()


def build_webhooks(settings: Settings, stores: Stores, clock: Clock) -> WebhookDelivery:
    def make_dispatcher(box: WebhookOutbox, url: str, secret: str) -> WebhookDispatcher:
        return WebhookDispatcher(
            box,
            url,
            secret=secret,
            signature_format="hex" if settings.webhook_signature_format == "hex" else "sha256",
            timeout_s=settings.webhook_timeout_ms / 1000,
            max_attempts=settings.webhook_max_attempts,
            max_age_s=settings.webhook_max_age_seconds,
            clock=clock,
            user_agent=f"wa-gateway/{__version__}",
            retry_cap_s=WEBHOOK_RETRY_CAP_S,
        )

    def make_device_dispatcher(box: WebhookOutbox, target: WebhookTarget) -> WebhookDispatcher:
        return make_dispatcher(box, target.url, target.secret)

    outbox = stores.outbox() if settings.webhook_url else None
    device_webhooks = DeviceWebhooks(
        stores.targets,
        settings.data_dir,
        make_device_dispatcher,
        clock,
        make_outbox=stores.outbox,
        drop_outbox=stores.drop_outbox,
    )
    broker_outbox = stores.outbox(BROKER_TARGET) if settings.nats_url else None
    return WebhookDelivery(
        outbox=outbox,
        dispatcher=(
            make_dispatcher(outbox, settings.webhook_url, settings.webhook_secret)
            if outbox is not None
            else None
        ),
        device_webhooks=device_webhooks,
        broker_outbox=broker_outbox,
        fan_out=WebhookFanOut(
            outbox, device_webhooks, clock, global_gets_all=settings.webhook_global, broker=broker_outbox
        ),
    )
