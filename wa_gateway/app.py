"""``create_app(settings)``: routes, middlewares, resources and shutdown, and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors, keys
from wa_gateway.apikeys.api import KeysApi
from wa_gateway.apikeys.keyring import Keyring
from wa_gateway.auth import AuthGuard
from wa_gateway.backends.sandbox.control.routes import sandbox_routes
from wa_gateway.clock import Clock, SystemClock
from wa_gateway.cluster.node import ClusterNode
from wa_gateway.config import Settings
from wa_gateway.contacts.api import ContactsApi
from wa_gateway.contacts.capturing import ContactCapture
from wa_gateway.dashboard.api import PUBLIC_ROUTES as DASHBOARD_ROUTES
from wa_gateway.dashboard.api import DashboardApi
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.db.stores import build_stores
from wa_gateway.devices.api import DevicesApi
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine.contract import EV_PRESENCE, GROUP_EVENTS
from wa_gateway.engine.supervisor import EngineSupervisor
from wa_gateway.events import catalog as events_catalog
from wa_gateway.events.bus import COMMIT, EventBus
from wa_gateway.events.model import WEBHOOK, WS
from wa_gateway.groups.events import GroupEvents
from wa_gateway.groups.wiring import group_routes
from wa_gateway.health import HealthApi
from wa_gateway.idempotency.middleware import make_idempotency_middleware
from wa_gateway.inbound import InboundEvents
from wa_gateway.lifecycle import opened
from wa_gateway.media.fetch import UrlFetcher, any_address, public_only
from wa_gateway.media.ffmpeg import FfmpegProbe
from wa_gateway.media.incoming import IncomingMedia
from wa_gateway.media.kinds import MediaLimits
from wa_gateway.messages.api import MessagesApi
from wa_gateway.messages.wiring import MessageHistory
from wa_gateway.messaging.actions_api import MessageActionsApi
from wa_gateway.messaging.api import MessagingApi
from wa_gateway.messaging.download_api import MediaDownloadApi
from wa_gateway.messaging.media_api import MediaApi
from wa_gateway.messaging.polls_api import PollsApi
from wa_gateway.messaging.presence_api import PresenceApi
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.metrics import Metrics
from wa_gateway.metrics_wiring import metrics_api
from wa_gateway.middlewares import (
    error_envelope_middleware,
    make_access_log_middleware,
    make_auth_middleware,
    make_cors_middleware,
    make_rate_limit_middleware,
    request_id_middleware,
)
from wa_gateway.openapi.document import PUBLIC_ROUTES as DOCS_ROUTES
from wa_gateway.openapi.document import OpenApiRoutes, build_document
from wa_gateway.openapi.specs import mounted_specs
from wa_gateway.phone import PhoneRules
from wa_gateway.presence.api import PresenceTrackingApi
from wa_gateway.presence.tracker import PresenceTracker
from wa_gateway.ratelimit import FixedWindowLimiter
from wa_gateway.route_limits import route_limiters
from wa_gateway.routing import LenientPaths
from wa_gateway.status.api import StatusApi, StatusMediaApi
from wa_gateway.status.inbound import StatusEvents, is_status
from wa_gateway.ttlcache import TtlCache
from wa_gateway.webhooks.api import WebhookAdminApi
from wa_gateway.webhooks.device_api import DeviceWebhookApi
from wa_gateway.webhooks.outbox import new_event_id
from wa_gateway.webhooks.redeliver_api import RedeliverApi
from wa_gateway.webhooks.wiring import build_webhooks
from wa_gateway.ws.endpoint import WsEndpoint
from wa_gateway.ws.hub import WsHub

# Routes reachable without the API key (the WebSocket authenticates with its first message, and
# /metrics checks the API key or METRICS_TOKEN itself).
PUBLIC_ROUTES: Final = frozenset({"/health", "/ws", "/metrics"}) | DOCS_ROUTES

# Per-token events still queued at shutdown get this long to reach the outbox.
EVENT_DRAIN_SECONDS: Final = 5.0


def worker_config(settings: Settings) -> dict[str, Any]:
    return {
        "data_dir": str(settings.data_dir.resolve()),
        # In the config, never the worker's environment (docs/storage.md): it may carry a password.
        "database_url": settings.database_url,
        "log_level": settings.log_level,
        "device_name": settings.device_name,
        "send_presence_on_connect": settings.send_presence_on_connect,
        "sandbox_qr_refresh_ms": settings.sandbox_qr_refresh_ms,
        "sandbox_qr_codes": settings.sandbox_qr_codes,
        "sandbox_reconnect_ms": settings.sandbox_reconnect_ms,
        "message_cache_size": settings.message_cache_size,
        "reconnect_max_backoff_seconds": settings.reconnect_max_backoff_seconds,
        "watchdog_s": settings.watchdog_seconds,
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
    database = (
        PostgresDatabase(settings.database_url, pool_size=settings.database_pool_size)
        if settings.database_url
        else None
    )
    proxies = settings.trusted_proxies
    auth_failures = FixedWindowLimiter(settings.rate_limit_auth_failures, clock)
    guard = AuthGuard(auth_failures, proxies)
    stores = build_stores(settings.data_dir, database, settings.node_id, clock)
    keyring = Keyring(stores.keys, settings.api_key, clock)
    metrics = Metrics()
    idempotency = stores.idempotency
    cluster = ClusterNode(settings, database, clock) if database is not None else None
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
            *([cluster.forwarder.middleware()] if cluster is not None else []),
            make_rate_limit_middleware(route_limiters(settings, clock), proxies),
            make_idempotency_middleware(idempotency, clock),
        ],
    )
    hub = cluster.hub if cluster is not None else WsHub()
    webhooks = build_webhooks(settings, stores, clock)
    outbox, dispatcher = webhooks.outbox, webhooks.dispatcher
    bus = EventBus(lambda: new_event_id(clock.time()))
    # Committed to every outbox before anyone is shown it (docs/events.md).
    bus.subscribe(webhooks.fan_out.on_event, phase=COMMIT)
    bus.subscribe(hub.on_event, kinds=(WEBHOOK, WS))
    bus.subscribe(lambda event: metrics.count_event(event.name))
    contacts = stores.contacts
    # The supervisor is the manager's engine link and the manager takes the supervisor's callbacks;
    # the lambdas resolve ``manager`` when the first callback fires, after both exist.
    supervisor = EngineSupervisor(
        settings.wa_engine,
        {**worker_config(settings), **(worker_overrides or {})},
        clock=clock,
        on_event=lambda token, event, data, stamp: manager.on_event(token, event, data, stamp),
        on_worker_up=lambda first_start: manager.on_worker_up(first_start),
        on_worker_down=lambda reason: manager.on_worker_down(reason),
        recycle_stuck_threads=settings.engine_recycle_stuck_threads,
        **(engine_options or {}),
    )
    history = MessageHistory(
        settings.data_dir, clock, retention_days=settings.message_retention_days, database=database
    )
    manager = DeviceManager(
        history.engine(supervisor), bus, clock=clock, device_name=settings.device_name, ack=supervisor.ack
    )
    ContactCapture(bus, contacts, lambda token: d.jid if (d := manager.get(token)) else None).subscribe()
    inbound = InboundEvents(
        manager.engine,
        bus,
        auto_read_receipt=settings.auto_read_receipt,
        auto_reject_calls=settings.auto_reject_calls,
        auto_reject_message=settings.auto_reject_calls_message,
    )
    presence = PresenceTracker(bus)
    statuses = StatusEvents(bus)
    group_events = GroupEvents(bus)

    async def handle_inbound(token: str, event: str, data: dict[str, Any]) -> None:
        await history.on_event(token, event, data)
        if event == EV_PRESENCE:
            await presence.handle(token, data)
        elif is_status(event, data):
            await statuses.handle(token, data)
        elif event in GROUP_EVENTS:
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
    manager.on_removed(history.forget_device)
    incoming_media = IncomingMedia(
        settings.data_dir, retention_s=settings.media_retention_seconds, clock=clock
    )
    manager.on_removed(incoming_media.forget_device)
    hub.set_replay(manager.replay)

    app[keys.HUB_KEY] = hub
    app[keys.ENGINE_KEY] = supervisor

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
    app[keys.DATABASE_KEY] = database
    if database is not None:
        app.cleanup_ctx.append(opened(database.open, database.close))
    if cluster is not None:
        cluster.install(app, manager)
    app.cleanup_ctx.extend(
        [
            opened(keyring.open, keyring.close),
            *([keyring.refresher()] if database is not None else []),
            *webhooks.cleanup_ctxs(settings, clock),
            opened(contacts.open, contacts.close_all),
            opened(idempotency.open, idempotency.close),
            incoming_media.cleanup_ctx,
            *history.cleanup_ctxs(),
            engine_ctx,
        ]
    )

    health = HealthApi(
        engine=settings.wa_engine,
        clock=clock,
        devices=manager.summaries,
        ws_clients=lambda: len(hub),
        engine_info=supervisor.info,
        reconnecting=supervisor.reconnecting,
        first_sync=supervisor.first_sync,
        cluster=cluster.health_view if cluster is not None else None,
    )
    ws = WsEndpoint(
        hub,
        lookup=keyring.lookup,
        allowed_origins=settings.ws_allowed_origins,
        auth_timeout=settings.ws_auth_timeout,
        heartbeat=settings.ws_heartbeat_seconds,
        queue_size=settings.ws_queue_size,
        guard=guard,
        known_events=events_catalog.WS_EVENTS,
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
    app.router.add_routes(MessagesApi(history.store, manager, Recipients(phones)).routes())
    if outbox is not None and dispatcher is not None:
        app.router.add_routes(WebhookAdminApi(outbox, dispatcher).routes())
    if settings.wa_engine == "sandbox":
        app.router.add_routes(sandbox_routes(manager, phones))

    metrics_routes = metrics_api(
        metrics,
        settings,
        manager=manager,
        hub=hub,
        supervisor=supervisor,
        outbox=outbox,
        dispatcher=dispatcher,
        guard=guard,
        keyring=keyring,
        cluster=cluster,
    )
    app.router.add_routes(metrics_routes.routes())
    app.router.add_routes(KeysApi(keyring).routes())
    device_webhook_api = DeviceWebhookApi(
        webhooks.device_webhooks, guard_policy=None if settings.webhook_allow_private_urls else public_only
    )
    app.router.add_routes(device_webhook_api.routes())

    app.router.add_routes(RedeliverApi(webhooks.outboxes).routes())
    keyring.on_revoked(lambda key_id: hub.close_key(key_id, errors.WS_KEY_REVOKED))
    specs = mounted_specs(
        sandbox=sandboxed,
        webhooks=outbox is not None,
        dashboard=settings.dashboard_enabled,
        extra=cluster.specs() if cluster is not None else [],
    )
    static_pages: list[DashboardApi | OpenApiRoutes] = []
    if settings.dashboard_enabled:
        static_pages.append(DashboardApi())
    static_pages.append(OpenApiRoutes(build_document(specs, events_catalog.ALL)))
    for pages in static_pages:
        app.router.add_routes(pages.routes())

    async def load_static_pages(app: web.Application) -> None:
        await asyncio.gather(*(pages.load() for pages in static_pages))

    # Registered last and indexed under "/": only requests no route matched exactly reach it.
    app.router.register_resource(LenientPaths(app.router))
    app.on_startup.append(load_static_pages)
    app.on_shutdown.append(_close_websockets)
    return app
