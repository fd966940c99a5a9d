"""``/sandbox/newsletters…``: channels and their posts, played by the sandbox (docs/channels.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wa_gateway import errors
from wa_gateway.backends.sandbox.control.devices_api import CONTROL_TIMEOUT_S, SandboxApi
from wa_gateway.body import parse_json_object, read_raw
from wa_gateway.channels.api import channel_jid
from wa_gateway.engine import contract as c
from wa_gateway.engine.channel_commands import CODES
from wa_gateway.envelope import ok


class SandboxChannelsApi(SandboxApi):
    async def _channel_op(self, op: str, args: dict[str, Any]) -> Any:
        return await self._manager.engine.call(
            c.CMD_SANDBOX,
            {**args, "op": op},
            within=CONTROL_TIMEOUT_S,
            failure=errors.INTERNAL_ERROR,
            unavailable=errors.ENGINE_UNAVAILABLE,
            codes=CODES,
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/sandbox/newsletters", self.create),
            web.post("/sandbox/newsletters/{jid}/messages", self.post),
            web.post("/sandbox/newsletters/{jid}/reactions", self.react),
        ]

    async def create(self, request: web.Request) -> web.Response:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        return ok(request, await self._channel_op("newsletter_create", args), "Channel created")

    async def post(self, request: web.Request) -> web.Response:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        args["jid"] = channel_jid(request.match_info["jid"])
        return ok(request, await self._channel_op("newsletter_post", args), "Post delivered to the followers")

    async def react(self, request: web.Request) -> web.Response:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        args["jid"] = channel_jid(request.match_info["jid"])
        return ok(request, await self._channel_op("newsletter_reaction", args), "Reaction delivered")
