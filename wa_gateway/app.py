"""``create_app(settings)``: routes, middlewares, resources and shutdown, and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from wa_gateway import __version__, errors, keys
from wa_gateway.apikeys.api import KeysApi
from wa_gateway.apikeys.keyring import Keyring
from wa_gateway.apikeys.principal import ADMIN
from wa_gateway.apikeys.store import KEYS_FILE, SqliteKeyStore
from wa_gateway.auth import AuthGuard
from wa_gateway.backends.sandbox.control import messaging_spec as sandbox_messaging_spec
from wa_gateway.backends.sandbox.control import presence_spec as sandbox_presence_spec
from wa_gateway.backends.sandbox.control import status_spec as sandbox_status_spec
from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.backends.sandbox.control.messaging_api import SandboxMessagingApi
from wa_gateway.backends.sandbox.control.presence_api import SandboxPresenceApi
from wa_gateway.backends.sandbox.control.status_api import SandboxStatusApi
from wa_gateway.clock import Clock, SystemClock
from wa_gateway.config import Settings
from wa_gateway.contacts.api import ContactsApi
from wa_gateway.contacts.store import ContactStores
from wa_gateway.dashboard.api import PUBLIC_ROUTES as DASHBOARD_ROUTES
from wa_gateway.dashboard.api import DashboardApi
from wa_gateway.devices.api import DevicesApi
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine.contract import EV_PRESENCE
from wa_gateway.engine.supervisor import EngineSupervisor
from wa_gateway.groups.wiring import GroupAndChannelEvents, group_routes, group_specs
from wa_gateway.health import HealthApi
from wa_gateway.idempotency.middleware import make_idempotency_middleware
from wa_gateway.idempotency.store import SqliteIdempotencyStore
from wa_gateway.inbound import InboundEvents
from wa_gateway.lifecycle import opened
from wa_gateway.media.fetch import UrlFetcher, any_address, public_only
from wa_gateway.media.ffmpeg import FfmpegProbe
from wa_gateway.media.incoming import IncomingMedia
from wa_gateway.media.kinds import MediaLimits
from wa_gateway.messaging import openapi_spec as messaging_extra_spec
from wa_gateway.messaging.actions_api import MessageActionsApi
from wa_gateway.messaging.api import MessagingApi
from wa_gateway.messaging.download_api import MediaDownloadApi
from wa_gateway.messaging.media_api import MediaApi
from wa_gateway.messaging.polls_api import PollsApi
from wa_gateway.messaging.presence_api import PresenceApi
from wa_gateway.metrics import Metrics, MetricsApi
from wa_gateway.middlewares import (
    error_envelope_middleware,
    make_access_log_middleware,
    make_auth_middleware,
    make_cors_middleware,
    make_rate_limit_middleware,
    request_id_middleware,
)
from wa_gateway.notify import WEBHOOK_EVENTS, WS_EVENTS, Notifier
from wa_gateway.openapi import contacts as contacts_spec
from wa_gateway.openapi import dashboard as dashboard_spec
from wa_gateway.openapi import device_webhooks as device_webhooks_spec
from wa_gateway.openapi import devices as devices_spec
from wa_gateway.openapi import keys as keys_spec
from wa_gateway.openapi import messaging as messaging_spec
from wa_gateway.openapi import sandbox as sandbox_spec
from wa_gateway.openapi import system as system_spec
from wa_gateway.openapi import webhooks as webhooks_spec
from wa_gateway.openapi.document import PUBLIC_ROUTES as DOCS_ROUTES
from wa_gateway.openapi.document import OpenApiRoutes, build_document
from wa_gateway.phone import PhoneRules
from wa_gateway.presence import openapi_spec as presence_spec
from wa_gateway.presence.api import PresenceTrackingApi
from wa_gateway.presence.tracker import PresenceTracker
from wa_gateway.ratelimit import FixedWindowLimiter
from wa_gateway.route_limits import route_limiters
from wa_gateway.routing import LenientPaths
from wa_gateway.status import openapi_spec as status_spec
from wa_gateway.status.api import StatusApi, StatusMediaApi
from wa_gateway.status.inbound import StatusEvents, is_status
from wa_gateway.ttlcache import TtlCache
from wa_gateway.webhooks.api import WebhookAdminApi
from wa_gateway.webhooks.device_api import DeviceWebhookApi
from wa_gateway.webhooks.dispatcher import WebhookDispatcher
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.per_device import DeviceWebhooks, WebhookFanOut
from wa_gateway.webhooks.redeliver_api import RedeliverApi
from wa_gateway.webhooks.targets import TARGETS_FILE, SqliteTargetStore, WebhookTarget
from wa_gateway.ws.endpoint import WsEndpoint
from wa_gateway.ws.hub import WsHub

# Routes reachable without the API key (the WebSocket authenticates with its first message, and
# /metrics checks the API key or METRICS_TOKEN itself).
PUBLIC_ROUTES: Final = frozenset({"/health", "/ws", "/metrics"}) | DOCS_ROUTES

# Backoff grows to one hour between attempts; with WEBHOOK_MAX_ATTEMPTS=150 that spans the three days
# of WEBHOOK_MAX_AGE_SECONDS, the window Standard Webhooks recommends for retries.
WEBHOOK_RETRY_CAP_S: Final = 3600.0
# Per-token events still queued at shutdown get this long to reach the outbox.
EVENT_DRAIN_SECONDS: Final = 5.0


def worker_config(settings: Settings) -> dict[str, Any]:
    return {
        "data_dir": str(settings.data_dir.resolve()),
        "log_level": settings.log_level,
        "device_name": settings.device_name,
        "send_presence_on_connect": settings.send_presence_on_connect,
        "sandbox_qr_refresh_ms": settings.sandbox_qr_refresh_ms,
        "sandbox_qr_codes": settings.sandbox_qr_codes,
        "sandbox_reconnect_ms": settings.sandbox_reconnect_ms,
        "message_cache_size": settings.message_cache_size,
        "reconnect_max_backoff_seconds": settings.reconnect_max_backoff_seconds,
    }


async def _close_websockets(app: web.Application) -> None:
    await app[keys.HUB_KEY].close_all()


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine_options: dict[str, Any] | None = None,
    worker_overrides: dict[str, Any] | None = None,
) -> web.Application:
    """Build the gateway. ``engine_options`` tunes the supervisor and ``worker_overrides`` adds to the
    worker's config (tests shorten timers and enable the worker's test hooks)."""
    clock = clock or SystemClock()
    proxies = settings.trusted_proxies
    auth_failures = FixedWindowLimiter(settings.rate_limit_auth_failures, clock)
    guard = AuthGuard(auth_failures, proxies)
    keyring = Keyring(SqliteKeyStore(settings.data_dir / KEYS_FILE), settings.api_key, clock)
    metrics = Metrics()
    idempotency = SqliteIdempotencyStore(settings.data_dir / "idempotency.db")
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            request_id_middleware,
            make_access_log_middleware(proxies, observers=[metrics.observe]),
            error_envelope_middleware,
            make_cors_middleware(settings.cors_origins),
            make_auth_middleware(
                guard,
                keyring.lookup,
                PUBLIC_ROUTES | (DASHBOARD_ROUTES if settings.dashboard_enabled else frozenset()),
            ),
            make_rate_limit_middleware(route_limiters(settings, clock), proxies),
            make_idempotency_middleware(idempotency, clock),
        ],
    )
    hub = WsHub()
    global_webhook = settings.webhook_url
    outbox = WebhookOutbox(settings.data_dir / "webhooks.db", clock=clock) if global_webhook else None

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

    device_webhooks = DeviceWebhooks(
        SqliteTargetStore(settings.data_dir / TARGETS_FILE), settings.data_dir, make_device_dispatcher, clock
    )
    fan_out = WebhookFanOut(outbox, device_webhooks, clock, global_gets_all=settings.webhook_global)
    notifier = Notifier(hub, fan_out, on_webhook=metrics.count_event)
    dispatcher = (
        make_dispatcher(outbox, global_webhook, settings.webhook_secret) if outbox is not None else None
    )
    contacts = ContactStores(settings.data_dir, clock)
    # The supervisor is the manager's engine link and the manager takes the supervisor's callbacks;
    # the lambdas resolve ``manager`` when the first callback fires, after both exist.
    supervisor = EngineSupervisor(
        settings.wa_engine,
        {**worker_config(settings), **(worker_overrides or {})},
        clock=clock,
        on_event=lambda token, event, data, stamp: manager.on_event(token, event, data, stamp),
        on_worker_up=lambda first_start: manager.on_worker_up(first_start),
        on_worker_down=lambda reason: manager.on_worker_down(reason),
        **(engine_options or {}),
    )
    manager = DeviceManager(
        supervisor, notifier, clock=clock, device_name=settings.device_name, ack=supervisor.ack
    )
    inbound = InboundEvents(
        manager,
        notifier,
        contacts,
        auto_read_receipt=settings.auto_read_receipt,
        auto_reject_calls=settings.auto_reject_calls,
        auto_reject_message=settings.auto_reject_calls_message,
    )
    presence = PresenceTracker(notifier)
    statuses = StatusEvents(notifier)
    group_events = GroupAndChannelEvents(notifier)

    async def handle_inbound(token: str, event: str, data: dict[str, Any]) -> None:
        if event == EV_PRESENCE:
            await presence.handle(token, data)
        elif is_status(event, data):
            await statuses.handle(token, data)
        elif event in group_events.EVENTS:
            await group_events.handle(token, event, data)
        else:
            await inbound.handle(token, event, data)

    manager.set_inbound_handler(handle_inbound)
    manager.on_removed(presence.forget_device)
    cache: TtlCache[dict[str, Any]] = TtlCache(settings.cache_ttl_seconds, clock)

    async def forget_device(token: str) -> None:
        cache.drop_namespace(token)
        await contacts.delete(token)

    manager.on_removed(forget_device)
    incoming_media = IncomingMedia(
        settings.data_dir, retention_s=settings.media_retention_seconds, clock=clock
    )
    manager.on_removed(incoming_media.forget_device)
    hub.set_replay(manager.replay)

    app[keys.HUB_KEY] = hub
    app[keys.ENGINE_KEY] = supervisor

    @contextlib.asynccontextmanager
    async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
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

    @contextlib.asynccontextmanager
    async def engine_ctx(app: web.Application) -> AsyncIterator[None]:
        await supervisor.start()
        try:
            yield
        finally:
            await supervisor.stop()
            await manager.drain(EVENT_DRAIN_SECONDS)
            await manager.close()

    # Cleanup runs in reverse: the engine stops first, its last events reach the outboxes, then they close.
    app.cleanup_ctx.extend(
        [
            opened(keyring.open, keyring.close),
            opened(device_webhooks.open, device_webhooks.close),
            webhooks_ctx,
            opened(None, contacts.close_all),
            opened(idempotency.open, idempotency.close),
            incoming_media.cleanup_ctx,
            engine_ctx,
        ]
    )

    health = HealthApi(
        engine=settings.wa_engine,
        clock=clock,
        devices=manager.summaries,
        ws_clients=lambda: len(hub),
        engine_info=supervisor.info,
    )
    ws = WsEndpoint(
        hub,
        lookup=keyring.lookup,
        allowed_origins=settings.ws_allowed_origins,
        auth_timeout=settings.ws_auth_timeout,
        heartbeat=settings.ws_heartbeat_seconds,
        queue_size=settings.ws_queue_size,
        guard=guard,
        known_events=WS_EVENTS,
    )
    phones = PhoneRules(settings.phone_country_code, settings.phone_min_length, settings.phone_max_length)
    app.router.add_routes(health.routes())
    app.router.add_routes(ws.routes())
    app.router.add_routes(DevicesApi(manager).routes())
    app.router.add_routes(
        MessagingApi(manager, phones, cache, typing_delay_ms=settings.typing_delay_ms).routes()
    )
    app.router.add_routes(ContactsApi(contacts, manager).routes())
    media_api = MediaApi(
        manager,
        phones,
        limits=MediaLimits.from_settings(settings),
        fetcher=UrlFetcher(
            timeout_s=settings.media_url_timeout_seconds,
            policy=any_address if settings.media_allow_private_urls else public_only,
        ),
        ffmpeg=FfmpegProbe(clock=clock),
        outgoing_dir=incoming_media.outgoing,
        typing_delay_ms=settings.typing_delay_ms,
    )
    app.router.add_routes(media_api.routes())
    app.router.add_routes(StatusMediaApi(media_api).routes())
    app.router.add_routes(StatusApi(manager).routes())
    app.router.add_routes(MessageActionsApi(manager, phones).routes())
    app.router.add_routes(MediaDownloadApi(manager, incoming_media).routes())
    app.router.add_routes(PollsApi(manager, phones).routes())
    app.router.add_routes(PresenceApi(manager, phones).routes())
    sandboxed = settings.wa_engine == "sandbox"
    app.router.add_routes(group_routes(manager, phones, incoming_media.outgoing, sandbox=sandboxed))
    app.router.add_routes(PresenceTrackingApi(manager, phones, presence).routes())
    if outbox is not None and dispatcher is not None:
        app.router.add_routes(WebhookAdminApi(outbox, dispatcher).routes())
    if settings.wa_engine == "sandbox":
        app.router.add_routes(SandboxApi(manager, phones).routes())
        app.router.add_routes(SandboxMessagingApi(manager, phones).routes())
        app.router.add_routes(SandboxPresenceApi(manager, phones).routes())
        app.router.add_routes(SandboxStatusApi(manager, phones).routes())

    async def webhook_stats() -> dict[str, Any]:
        assert outbox is not None
        stats = await outbox.stats()
        return {
            "pending": stats.pending,
            "delivered": stats.delivered,
            "dead": stats.dead,
            "oldestPendingAgeSeconds": stats.oldest_pending_age_s,
        }

    def metrics_token_matches(key: str) -> bool:
        return bool(settings.metrics_token) and guard.matches(key, (settings.metrics_token.encode(),))

    metrics_api = MetricsApi(
        metrics,
        api_key=settings.api_key,
        metrics_token=settings.metrics_token,
        devices=manager.summaries,
        ws_clients=lambda: len(hub),
        engine_info=supervisor.info,
        engine=settings.wa_engine,
        webhook_stats=webhook_stats if outbox is not None else None,
        webhook_attempts=(lambda: dispatcher.attempts) if dispatcher is not None else None,
        guard=guard,
        lookup=lambda key: ADMIN if metrics_token_matches(key) else keyring.lookup(key),
    )
    app.router.add_routes(metrics_api.routes())
    app.router.add_routes(KeysApi(keyring).routes())
    device_webhook_api = DeviceWebhookApi(
        device_webhooks, guard_policy=None if settings.webhook_allow_private_urls else public_only
    )
    app.router.add_routes(device_webhook_api.routes())

    def all_outboxes() -> list[WebhookOutbox]:
        return ([outbox] if outbox is not None else []) + device_webhooks.outboxes()

    app.router.add_routes(RedeliverApi(all_outboxes).routes())
    keyring.on_revoked(lambda key_id: hub.close_key(key_id, errors.WS_KEY_REVOKED))
    specs = [system_spec, devices_spec, messaging_spec, messaging_extra_spec, contacts_spec]
    specs.extend([presence_spec, *group_specs(sandbox=sandboxed)])
    specs.append(status_spec)
    specs.append(keys_spec)
    specs.append(device_webhooks_spec)
    if outbox is not None:
        specs.append(webhooks_spec)
    if settings.wa_engine == "sandbox":
        specs.extend([sandbox_spec, sandbox_messaging_spec])
        specs.append(sandbox_presence_spec)
        specs.append(sandbox_status_spec)
    static_pages: list[DashboardApi | OpenApiRoutes] = []
    if settings.dashboard_enabled:
        specs.append(dashboard_spec)
        static_pages.append(DashboardApi())
    static_pages.append(OpenApiRoutes(build_document(specs, sorted(WEBHOOK_EVENTS))))
    for pages in static_pages:
        app.router.add_routes(pages.routes())

    async def load_static_pages(app: web.Application) -> None:
        await asyncio.gather(*(pages.load() for pages in static_pages))

    # Registered last and indexed under "/": only requests no route matched exactly reach it.
    app.router.register_resource(LenientPaths(app.router))
    app.on_startup.append(load_static_pages)
    app.on_shutdown.append(_close_websockets)
    return app
