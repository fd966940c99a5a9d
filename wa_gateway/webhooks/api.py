"""Operator endpoints for the webhook outbox: queue stats, the dead-letter list, and retries."""

from __future__ import annotations

from typing import Any, Final, Protocol

from aiohttp import web

from wa_gateway import errors
from wa_gateway.envelope import ok, utc_timestamp
from wa_gateway.route_table import RouteTable, route
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.records import OutboxRecord

DEAD_PAGE_DEFAULT_LIMIT: Final = 100
DEAD_PAGE_MAX_LIMIT: Final = 1000
_QUERY_INT_MAX_DIGITS: Final = 18


class Notifier(Protocol):
    def notify(self) -> None: ...


class WebhookAdminApi(RouteTable):
    """``GET /webhooks/stats``, ``GET /webhooks/dead``, ``POST /webhooks/dead/retry`` and
    ``POST /webhooks/dead/{id}/retry``; auth and rate limits come from the app's middlewares."""

    def __init__(self, outbox: WebhookOutbox, dispatcher: Notifier) -> None:
        self._outbox = outbox
        self._dispatcher = dispatcher

    @route.get("/webhooks/stats")
    async def get_stats(self, request: web.Request) -> web.Response:
        stats = await self._outbox.stats()
        data = {
            "pending": stats.pending,
            "delivered": stats.delivered,
            "dead": stats.dead,
            "oldestPendingAgeSeconds": int(stats.oldest_pending_age_s),
        }
        return ok(request, data, "Webhook stats retrieved")

    @route.get("/webhooks/dead")
    async def list_dead(self, request: web.Request) -> web.Response:
        limit = min(_query_int(request, "limit", DEAD_PAGE_DEFAULT_LIMIT), DEAD_PAGE_MAX_LIMIT)
        offset = _query_int(request, "offset", 0)
        page = await self._outbox.dead(limit, offset)
        data = {
            "items": [_dead_item(record) for record in page.items],
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "hasMore": offset + len(page.items) < page.total,
        }
        return ok(request, data, "Dead-letter webhooks retrieved")

    @route.post("/webhooks/dead/retry")
    async def retry_all_dead(self, request: web.Request) -> web.Response:
        retried = await self._outbox.retry_all_dead()
        if retried:
            self._dispatcher.notify()
        return ok(request, {"retried": retried}, "Dead-letter webhooks queued for retry")

    @route.post("/webhooks/dead/{id}/retry")
    async def retry_dead(self, request: web.Request) -> web.Response:
        msg_id = request.match_info["id"]
        if not await self._outbox.retry_dead(msg_id):
            raise errors.ApiError(errors.WEBHOOK_NOT_FOUND)
        self._dispatcher.notify()
        return ok(request, {"id": msg_id}, "Webhook queued for retry")


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    # The length bound keeps the value inside a 64-bit SQL integer.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _QUERY_INT_MAX_DIGITS:
        raise errors.ApiError(errors.INVALID_QUERY)
    return int(raw)


def _dead_item(record: OutboxRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "event": record.event,
        "token": record.token,
        "attempts": record.attempts,
        "lastError": record.last_error,
        "lastStatus": record.last_status,
        "createdAt": utc_timestamp(record.created_at),
        "payload": record.payload(),
    }
