"""Sandbox control routes for messaging beyond text: the other side reacts, edits, revokes, votes, sends
media, calls; and the groups the device is in. Mounted only with ``WA_ENGINE=sandbox``."""

from __future__ import annotations

from aiohttp import web

from wa_gateway.backends.sandbox.control.devices_api import DEVICE, SandboxApi, relayed
from wa_gateway.envelope import ok
from wa_gateway.route_table import route


class SandboxMessagingApi(SandboxApi):
    reaction = relayed("reactions", "reaction", "Reaction delivered to the device")
    edit = relayed("edits", "edit", "Edit delivered to the device")
    revoke = relayed("revokes", "revoke", "Revoke delivered to the device")
    poll_vote = relayed("poll-votes", "poll_vote", "Poll vote delivered to the device")
    media_message = relayed("media-messages", "media_message", "Media message delivered to the device")
    call = relayed("calls", "call", "Call delivered to the device")

    @route.put(f"{DEVICE}/groups")
    async def groups(self, request: web.Request) -> web.Response:
        return ok(request, await self.relay(request, "groups"), "Groups updated")
