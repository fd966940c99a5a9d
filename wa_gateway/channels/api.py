"""The /newsletters routes: the channels a device follows, following and creating them, and their posts
(docs/channels.md)."""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import channel_commands as n
from wa_gateway.engine.command_spec import Command
from wa_gateway.envelope import ok, utc_timestamp

SUFFIX: Final = "@newsletter"
CHANNEL_JID_RE: Final = re.compile(r"[0-9]{1,24}@newsletter")
INVITE_PREFIXES: Final = ("https://whatsapp.com/channel/", "whatsapp.com/channel/")
INVITE_CODE_RE: Final = re.compile(r"[A-Za-z0-9_-]{6,64}")
MAX_NAME_CHARS: Final = 100
MAX_DESCRIPTION_CHARS: Final = 2048
CHANNEL: Final = "/newsletters/{token}/{jid}"
DEFAULT_POSTS: Final = 20
MAX_POSTS: Final = 100
# A post's serverId: the channel's own sequence number, a positive 32-bit integer (neonize passes a C int).
SERVER_ID_RE: Final = re.compile(r"[0-9]{1,10}")
MAX_SERVER_ID: Final = 2**31 - 1


def channel_jid(raw: str) -> str:
    """A channel from a path or a body: its JID, or the digits before ``@newsletter``."""
    jid = raw if "@" in raw else raw + SUFFIX
    if not CHANNEL_JID_RE.fullmatch(jid):
        raise errors.ApiError(errors.INVALID_NEWSLETTER)
    return jid


def invite_code(raw: str) -> str:
    code = raw.strip()
    for prefix in INVITE_PREFIXES:
        code = code.removeprefix(prefix)
    code = code.rstrip("/")
    if not INVITE_CODE_RE.fullmatch(code):
        raise errors.ApiError(errors.NEWSLETTER_FOLLOW_TARGET)
    return code


class ChannelsApi:
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/newsletters/{token}", self.list_channels),
            web.post("/newsletters/{token}", self.create),
            web.post("/newsletters/{token}/follow", self.follow),
            web.get(CHANNEL, self.info),
            web.patch(CHANNEL, self.mute),
            web.delete(CHANNEL, self.unfollow),
            web.get(f"{CHANNEL}/messages", self.posts),
        ]

    async def _run(self, token: str, command: Command, args: dict[str, Any]) -> Any:
        self._manager.require_connected(token)
        return await self._manager.engine.run(command, {"token": token, **args})

    async def list_channels(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        result = await self._run(token, n.LIST_NEWSLETTERS, {})
        found = result.get("newsletters", []) if isinstance(result, dict) else []
        return ok(request, {"newsletters": found, "total": len(found)}, "Channels retrieved")

    async def create(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        body = await read_body(request)
        name, description = body.text("name"), body.text("description")
        if not name.strip() or len(name) > MAX_NAME_CHARS or len(description) > MAX_DESCRIPTION_CHARS:
            raise errors.ApiError(errors.INVALID_NEWSLETTER_NAME)
        result = await self._run(token, n.CREATE_NEWSLETTER, {"name": name, "description": description})
        return ok(request, result, "Channel created")

    async def follow(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        body = await read_body(request)
        raw_jid, raw_invite = body.text("jid"), body.text("invite")
        if bool(raw_jid) == bool(raw_invite):
            raise errors.ApiError(errors.NEWSLETTER_FOLLOW_TARGET)
        args = {"jid": channel_jid(raw_jid)} if raw_jid else {"invite": invite_code(raw_invite)}
        result = await self._run(token, n.FOLLOW_NEWSLETTER, args)
        return ok(request, result, "Channel followed")

    async def info(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = channel_jid(request.match_info["jid"])
        return ok(request, await self._run(token, n.NEWSLETTER_INFO, {"jid": jid}), "Channel retrieved")

    async def mute(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = channel_jid(request.match_info["jid"])
        body = await read_body(request)
        muted = body.optional("muted", bool)
        if muted is None:
            raise errors.ApiError(errors.NEWSLETTER_MUTED_REQUIRED)
        await self._run(token, n.MUTE_NEWSLETTER, {"jid": jid, "muted": muted})
        return ok(request, {"jid": jid, "muted": muted}, "Channel muted" if muted else "Channel unmuted")

    async def unfollow(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        jid = channel_jid(request.match_info["jid"])
        await self._run(token, n.UNFOLLOW_NEWSLETTER, {"jid": jid})
        return ok(request, {"jid": jid, "following": False}, "Channel unfollowed")

    async def posts(self, request: web.Request) -> web.Response:
        """Newest first; one post more than asked tells whether an older page exists."""
        token = token_from_path(request)
        jid = channel_jid(request.match_info["jid"])
        limit = _whole(request, "limit", MAX_POSTS, errors.INVALID_NEWSLETTER_LIMIT) or DEFAULT_POSTS
        before = _whole(request, "before", MAX_SERVER_ID, errors.INVALID_NEWSLETTER_BEFORE)
        args: dict[str, Any] = {"jid": jid, "count": limit + 1}
        if before is not None:
            args["before"] = before
        result = await self._run(token, n.NEWSLETTER_MESSAGES, args)
        found = result.get("messages", []) if isinstance(result, dict) else []
        page = found[:limit]
        data = {
            "messages": [_post(post) for post in page],
            "nextCursor": page[-1]["serverId"] if len(found) > limit else None,
        }
        return ok(request, data, "Channel messages retrieved")


def _whole(request: web.Request, name: str, most: int, spec: errors.ErrorSpec) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not SERVER_ID_RE.fullmatch(raw) or not 1 <= int(raw) <= most:
        raise errors.ApiError(spec)
    return int(raw)


def _post(post: dict[str, Any]) -> dict[str, Any]:
    when = post.get("timestamp")
    return {**post, "timestamp": utc_timestamp(float(when)) if isinstance(when, int | float) else None}
