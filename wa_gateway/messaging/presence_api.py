"""``POST /presence``: online/offline for the account, or typing/recording/paused in one chat."""

from __future__ import annotations

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok
from wa_gateway.messaging.fields import body_token
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable, route


class PresenceApi(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)

    @route.post("/presence")
    async def set_presence(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        state = body.text("state")
        if state not in c.PRESENCE_STATES:
            raise errors.ApiError(errors.INVALID_PRESENCE)
        raw_to = body.text("to")
        # Typing states belong to a chat; online/offline belong to the account (contract CMD_SET_PRESENCE).
        if state in c.CHAT_PRESENCE_STATES and not raw_to:
            raise errors.ApiError(errors.PRESENCE_NEEDS_CHAT)
        if state not in c.CHAT_PRESENCE_STATES and raw_to:
            raise errors.ApiError(errors.PRESENCE_NO_CHAT)
        to = self._recipients.to(raw_to) if raw_to else None
        self._manager.require_connected(token)
        await self._manager.engine.run(commands.SET_PRESENCE, {"token": token, "to": to, "state": state})
        return ok(request, {"state": state, "to": to}, "Presence updated")
