"""``GET /groups/{token}`` (joined groups) and ``GET /groups/{token}/{gid}`` (one group's details)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok, utc_timestamp
from wa_gateway.messaging.recipients import group_jid

GROUPS_TIMEOUT_S: Final = 60.0


class GroupsApi:
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/groups/{token}", self.list_groups),
            web.get("/groups/{token}/{gid}", self.group_info),
        ]

    async def list_groups(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        self._manager.require_connected(token)
        result = await self._manager.engine.call(
            c.CMD_LIST_GROUPS,
            {"token": token},
            within=GROUPS_TIMEOUT_S,
            failure=errors.GROUPS_FAILED,
        )
        groups = result.get("groups", []) if isinstance(result, dict) else []
        return ok(request, {"groups": groups, "total": len(groups)}, "Groups retrieved")

    async def group_info(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = group_jid(request.match_info["gid"])
        if jid is None:
            raise errors.ApiError(errors.INVALID_GROUP)
        self._manager.require_connected(token)
        result = await self._manager.engine.call(
            c.CMD_GROUP_INFO,
            {"token": token, "jid": jid},
            within=GROUPS_TIMEOUT_S,
            failure=errors.GROUPS_FAILED,
            invalid=errors.GROUP_NOT_FOUND,
        )
        return ok(request, _group_details(result), "Group retrieved")


def _group_details(result: Any) -> dict[str, Any]:
    details = dict(result) if isinstance(result, dict) else {}
    created = details.get("createdAt")
    details["createdAt"] = (
        utc_timestamp(float(created)) if isinstance(created, int | float) and created else None
    )
    return details
