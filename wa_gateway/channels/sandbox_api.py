"""``/sandbox/newsletters…``: channels and their posts, played by the sandbox (docs/channels.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wa_gateway import errors
from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.body import parse_json_object, read_raw
from wa_gateway.channels.api import channel_jid
from wa_gateway.engine.channel_commands import CODES
from wa_gateway.envelope import ok
from wa_gateway.route_table import route


class SandboxChannelsApi(SandboxApi):
    async def _channel_op(self, op: str, args: dict[str, Any]) -> Any:
        # A channel the sandbox does not know is answered through CODES; a device-level "not found"
        # keeps the engine client's default.
        return await self._control(op, args, not_found=errors.DEVICE_NOT_CONNECTED, codes=CODES)

    @route.post("/sandbox/newsletters")
    async def create(self, request: web.Request) -> web.Response:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        return ok(request, await self._channel_op("newsletter_create", args), "Channel created")

    async def _in_channel(self, request: web.Request, op: str) -> Any:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        args["jid"] = channel_jid(request.match_info["jid"])
        return await self._channel_op(op, args)

    @route.post("/sandbox/newsletters/{jid}/messages")
    async def post(self, request: web.Request) -> web.Response:
        return ok(
            request, await self._in_channel(request, "newsletter_post"), "Post delivered to the followers"
        )

    @route.post("/sandbox/newsletters/{jid}/reactions")
    async def react(self, request: web.Request) -> web.Response:
        return ok(request, await self._in_channel(request, "newsletter_reaction"), "Reaction delivered")
