"""``POST /sandbox/devices/{token}/presence``: a contact goes online, offline, or types (sandbox only)."""

from __future__ import annotations

from aiohttp import web

from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.envelope import ok
from wa_gateway.route_table import route


class SandboxPresenceApi(SandboxApi):
    @route.post("/sandbox/devices/{token}/presence")
    async def presence(self, request: web.Request) -> web.Response:
        data = await self.relay(request, "presence")
        delivered = isinstance(data, dict) and data.get("delivered") is True
        message = (
            "Presence delivered to the device" if delivered else "Not delivered: the device is not subscribed"
        )
        return ok(request, data, message)
