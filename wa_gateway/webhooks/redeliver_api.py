"""``POST /webhooks/events/{id}/redeliver``: send a delivered event again, with its original id."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from wa_gateway import errors
from wa_gateway.apikeys.policy import caller
from wa_gateway.envelope import ok
from wa_gateway.route_table import RouteTable, route
from wa_gateway.webhooks.outbox import WebhookOutbox


class RedeliverApi(RouteTable):
    def __init__(self, outboxes: Callable[[], list[WebhookOutbox]]) -> None:
        """``outboxes``: WEBHOOK_URL's outbox (when set) and every device webhook's."""
        self._outboxes = outboxes

    @route.post("/webhooks/events/{id}/redeliver")
    async def redeliver(self, request: web.Request) -> web.Response:
        msg_id = request.match_info["id"]
        principal = caller(request)
        redelivered = []
        for outbox in self._outboxes():
            record = await outbox.get(msg_id)
            # Another device's event is reported as missing, not forbidden: its id says nothing then.
            if record is None or (principal is not None and not principal.may_use(record.token)):
                continue
            if await outbox.redeliver(msg_id):
                redelivered.append(record.token)
        if not redelivered:
            raise errors.ApiError(errors.WEBHOOK_EVENT_NOT_FOUND)
        return ok(request, {"id": msg_id, "token": redelivered[0]}, "Webhook event queued for redelivery")
