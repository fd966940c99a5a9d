"""``POST /presence/subscribe`` and ``GET /presence/{token}/{phone}``: others' presence (docs/presence.md)."""

from __future__ import annotations

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.envelope import ok
from wa_gateway.messaging.fields import body_token
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.presence.tracker import PresenceTracker
from wa_gateway.route_table import RouteTable, route


class PresenceTrackingApi(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules, tracker: PresenceTracker) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)
        self._tracker = tracker

    def _contact(self, raw: str) -> str:
        if not raw:
            raise errors.ApiError(errors.MISSING_PRESENCE_CONTACT)
        jid = self._recipients.user(raw)
        if jid is None:
            raise errors.ApiError(errors.INVALID_PRESENCE_CONTACT)
        return jid

    @route.post("/presence/subscribe")
    async def subscribe(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        contact = self._contact(body.text("to"))
        self._manager.require_connected(token)
        await self._manager.engine.run(commands.SUBSCRIBE_PRESENCE, {"token": token, "to": contact})
        return ok(request, {"to": contact, "subscribed": True}, "Subscribed to presence")

    @route.get("/presence/{token}/{phone}")
    async def last_known(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        contact = self._contact(request.match_info["phone"])
        self._manager.require(token)
        known = self._tracker.last(token, contact)
        if known is None:
            raise errors.ApiError(errors.PRESENCE_UNKNOWN)
        return ok(request, known, "Presence retrieved")
