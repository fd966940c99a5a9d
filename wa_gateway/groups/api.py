"""The /groups routes: the groups a device is in, and changing them (docs/groups.md).

Each route checks the request for the API's rules, then runs one declared engine command
(engine/commands.py, engine/group_commands.py) with its own timeout and errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import group_commands as g
from wa_gateway.engine.command_spec import Command
from wa_gateway.envelope import ok
from wa_gateway.groups import fields
from wa_gateway.groups.picture import receive_picture
from wa_gateway.media.spool import remove
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable, route

GROUP: Final = "/groups/{token}/{gid}"


class GroupsApi(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules, outgoing_dir: Path) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)
        self._outgoing = outgoing_dir

    async def _run(self, token: str, command: Command, args: dict[str, Any]) -> Any:
        self._manager.require_connected(token)
        return await self._manager.engine.run(command, {"token": token, **args})

    @route.get("/groups/{token}")
    async def list_groups(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        result = await self._run(token, commands.LIST_GROUPS, {})
        groups = result.get("groups", []) if isinstance(result, dict) else []
        return ok(request, {"groups": groups, "total": len(groups)}, "Groups retrieved")

    @route.post("/groups/{token}")
    async def create(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        body = await read_body(request)
        subject = fields.subject(body.text("subject"))
        people = fields.participants(self._recipients, body.optional("participants", list))
        community = body.optional("community", bool) or False
        args = {"subject": subject, "participants": people, "community": community}
        result = await self._run(token, g.CREATE_GROUP, args)
        return ok(request, fields.details(result), "Group created")

    @route.post("/groups/{token}/join")
    async def join(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        body = await read_body(request)
        code = fields.invite_code(body.text("invite"))
        result = await self._run(token, g.JOIN_GROUP, {"code": code})
        joined = result.get("jid") if isinstance(result, dict) else None
        return ok(request, {"jid": joined}, "Joined the group")

    # Declared before the {gid} routes: "invite" is never a group id.
    @route.get("/groups/{token}/invite/{code}")
    async def preview(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        code = fields.invite_code(request.match_info["code"])
        result = await self._run(token, g.GROUP_INVITE_INFO, {"code": code})
        return ok(request, fields.details(result), "Invite retrieved")

    @route.get(GROUP)
    async def group_info(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        result = await self._run(token, commands.GROUP_INFO, {"jid": jid})
        return ok(request, fields.details(result), "Group retrieved")

    @route.patch(GROUP)
    async def update(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        body = await read_body(request)
        raw_subject = body.optional("subject", str)
        changes = {
            "subject": fields.subject(raw_subject) if raw_subject is not None else None,
            "topic": fields.topic(body.optional("topic", str)),
            "announce": body.optional("announce", bool),
            "locked": body.optional("locked", bool),
        }
        if all(value is None for value in changes.values()):
            raise errors.ApiError(errors.GROUP_UPDATE_EMPTY)
        result = await self._run(token, g.UPDATE_GROUP, {"jid": jid, **changes})
        changed = result.get("changed", []) if isinstance(result, dict) else []
        return ok(request, {"jid": jid, "changed": changed}, "Group updated")

    @route.delete(GROUP)
    async def leave(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        await self._run(token, g.LEAVE_GROUP, {"jid": jid})
        return ok(request, {"jid": jid, "left": True}, "Left the group")

    @route.put(f"{GROUP}/picture")
    async def picture(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        self._manager.require_connected(token)
        path = await receive_picture(request, self._outgoing)
        try:
            result = await self._run(token, g.SET_GROUP_PICTURE, {"jid": jid, "path": str(path)})
        finally:
            await remove(path)
        picture = result.get("pictureId") if isinstance(result, dict) else None
        return ok(request, {"jid": jid, "pictureId": picture}, "Group picture set")

    @route.post(f"{GROUP}/participants")
    async def participants(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        body = await read_body(request)
        action = body.text("action")
        if action not in ("add", "remove", "promote", "demote"):
            raise errors.ApiError(errors.INVALID_GROUP_ACTION)
        people = fields.participants(self._recipients, body.optional("participants", list))
        args = {"jid": jid, "action": action, "participants": people}
        result = await self._run(token, g.GROUP_PARTICIPANTS, args)
        results = result.get("results", []) if isinstance(result, dict) else []
        return ok(request, {"jid": jid, "action": action, "results": results}, "Participants updated")

    async def _invite(self, request: web.Request, *, revoke: bool) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        result = await self._run(token, g.GROUP_INVITE, {"jid": jid, "revoke": revoke})
        link = result.get("link") if isinstance(result, dict) else None
        message = "Invite link revoked; this is the new one" if revoke else "Invite link retrieved"
        return ok(request, {"jid": jid, "link": link}, message)

    @route.get(f"{GROUP}/invite")
    async def invite(self, request: web.Request) -> web.Response:
        return await self._invite(request, revoke=False)

    @route.delete(f"{GROUP}/invite")
    async def revoke_invite(self, request: web.Request) -> web.Response:
        return await self._invite(request, revoke=True)

    @route.get(f"{GROUP}/requests")
    async def requests(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = fields.path_group(request.match_info["gid"])
        result = await self._run(token, g.GROUP_REQUESTS, {"jid": jid})
        found = result.get("requests", []) if isinstance(result, dict) else []
        return ok(request, {"jid": jid, "requests": fields.requests(found)}, "Join requests retrieved")

    @route.post(f"{GROUP}/links")
    async def link(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        parent = fields.path_group(request.match_info["gid"])
        body = await read_body(request)
        child = fields.path_group(body.text("child"))
        await self._run(token, g.LINK_GROUP, {"parent": parent, "child": child})
        return ok(request, {"parent": parent, "child": child, "linked": True}, "Group linked")

    @route.delete(GROUP + "/links/{child}")
    async def unlink(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        parent = fields.path_group(request.match_info["gid"])
        child = fields.path_group(request.match_info["child"])
        await self._run(token, g.UNLINK_GROUP, {"parent": parent, "child": child})
        return ok(request, {"parent": parent, "child": child, "linked": False}, "Group unlinked")

    @route.get(f"{GROUP}/subgroups")
    async def subgroups(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        parent = fields.path_group(request.match_info["gid"])
        result = await self._run(token, g.SUB_GROUPS, {"parent": parent})
        groups = result.get("groups", []) if isinstance(result, dict) else []
        return ok(request, {"parent": parent, "groups": groups, "total": len(groups)}, "Sub-groups retrieved")
