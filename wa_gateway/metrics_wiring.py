"""``/metrics`` wired to what it reports on: devices, sockets, the engine, the webhook outbox."""

from __future__ import annotations

from typing import Any

from wa_gateway.apikeys.keyring import Keyring
from wa_gateway.apikeys.principal import ADMIN
from wa_gateway.auth import AuthGuard
from wa_gateway.cluster.node import ClusterNode
from wa_gateway.config import Settings
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine.supervisor import EngineSupervisor
from wa_gateway.metrics import Metrics, MetricsApi
from wa_gateway.webhooks.dispatcher import WebhookDispatcher
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.ws.hub import WsHub


def metrics_api(
    metrics: Metrics,
    settings: Settings,
    *,
    manager: DeviceManager,
    hub: WsHub,
    supervisor: EngineSupervisor,
    outbox: WebhookOutbox | None,
    dispatcher: WebhookDispatcher | None,
    guard: AuthGuard,
    keyring: Keyring,
    cluster: ClusterNode | None = None,
) -> MetricsApi:
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

    return MetricsApi(
        metrics,
        api_key=settings.api_key,
        metrics_token=settings.metrics_token,
        devices=manager.summaries,
        ws_clients=lambda: len(hub),
        engine_info=supervisor.info,
        engine=settings.wa_engine,
        reconnecting=supervisor.reconnecting,
        webhook_stats=webhook_stats if outbox is not None else None,
        webhook_attempts=(lambda: dispatcher.attempts) if dispatcher is not None else None,
        guard=guard,
        lookup=lambda key: ADMIN if metrics_token_matches(key) else keyring.lookup(key),
        cluster_owned=cluster.owned_count if cluster is not None else None,
    )
