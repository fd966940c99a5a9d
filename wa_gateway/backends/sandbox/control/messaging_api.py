"""Sandbox control routes for messaging beyond text: the other side reacts, edits, revokes, votes, sends
media, calls; and the groups the device is in. Mounted only with ``WA_ENGINE=sandbox``."""

from __future__ import annotations

from aiohttp import web

from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.envelope import ok


class SandboxMessagingApi(SandboxApi):
    def routes(self) -> list[web.RouteDef]:
        device = "/sandbox/devices/{token}"
        return [
            web.post(f"{device}/reactions", self.reaction),
            web.post(f"{device}/edits", self.edit),
            web.post(f"{device}/revokes", self.revoke),
            web.post(f"{device}/poll-votes", self.poll_vote),
            web.post(f"{device}/media-messages", self.media_message),
            web.post(f"{device}/calls", self.call),
            web.put(f"{device}/groups", self.groups),
        ]

    async def reaction(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "reaction"), "Reaction delivered to the device")

    async def edit(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "edit"), "Edit delivered to the device")

    async def revoke(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "revoke"), "Revoke delivered to the device")

    async def poll_vote(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "poll_vote"), "Poll vote delivered to the device")

    async def media_message(self, request: web.Request) -> web.Response:
        data = await self._device_op(request, "media_message")
        return ok(request, data, "Media message delivered to the device")

    async def call(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "call"), "Call delivered to the device")

    async def groups(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "groups"), "Groups updated")
