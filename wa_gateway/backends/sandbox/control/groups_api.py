"""``/sandbox/groups…``: groups and the people in them, played by the sandbox (docs/groups.md "Sandbox").

A device is in a group when its token is among the participants; each change reaches every device in
the group as the events WhatsApp would send.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wa_gateway import errors
from wa_gateway.backends.sandbox.control.devices_api import CONTROL_TIMEOUT_S, SandboxApi
from wa_gateway.body import parse_json_object, read_raw
from wa_gateway.engine import contract as c
from wa_gateway.engine.group_commands import CODES
from wa_gateway.envelope import ok
from wa_gateway.groups.fields import path_group
from wa_gateway.route_table import route


class SandboxGroupsApi(SandboxApi):
    async def _group_op(self, request: web.Request, op: str, *, with_group: bool = True) -> Any:
        args = parse_json_object(await read_raw(request), allow_empty=True)
        if with_group:
            args["jid"] = path_group(request.match_info["gid"])
        for key in ("from", "by", "owner"):
            if key in args:
                args[key] = self._phone(args[key])
        for key in ("participants", "admins"):
            if isinstance(args.get(key), list):
                args[key] = [self._phone(entry) for entry in args[key]]
        return await self._manager.engine.call(
            c.CMD_SANDBOX,
            {**args, "op": op},
            within=CONTROL_TIMEOUT_S,
            failure=errors.INTERNAL_ERROR,
            unavailable=errors.ENGINE_UNAVAILABLE,
            codes=CODES,
        )

    @route.post("/sandbox/groups")
    async def create(self, request: web.Request) -> web.Response:
        return ok(request, await self._group_op(request, "group_create", with_group=False), "Group created")

    @route.post("/sandbox/groups/{gid}/participants")
    async def participants(self, request: web.Request) -> web.Response:
        return ok(request, await self._group_op(request, "group_participants"), "Participants changed")

    @route.post("/sandbox/groups/{gid}/messages")
    async def message(self, request: web.Request) -> web.Response:
        return ok(request, await self._group_op(request, "group_message"), "Message delivered to the group")
