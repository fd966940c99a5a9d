"""``POST /sandbox/devices/{token}/status``: a contact posts a text status (sandbox only)."""

from __future__ import annotations

from aiohttp import web

from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.envelope import ok


class SandboxStatusApi(SandboxApi):
    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sandbox/devices/{token}/status", self.status)]

    async def status(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "status"), "Status delivered to the device")
