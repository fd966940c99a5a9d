"""``POST /status`` (a text status) and ``POST /status/media`` (an image or video status)."""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import Body, read_body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok
from wa_gateway.messaging.fields import body_token, message_text, sent
from wa_gateway.messaging.media_api import MediaApi
from wa_gateway.route_table import RouteTable, route

COLOR_RE: Final = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
OPAQUE: Final = 0xFF000000


def background_argb(raw: str) -> int | None:
    """``#RRGGBB`` (opaque) or ``#AARRGGBB`` as the ARGB integer WhatsApp stores."""
    if not raw:
        return None
    if COLOR_RE.fullmatch(raw) is None:
        raise errors.ApiError(errors.INVALID_STATUS_COLOR)
    value = int(raw[1:], 16)
    return value | OPAQUE if len(raw) == 7 else value


def font(body: Body) -> int | None:
    value = body.optional("font", int)
    if value is not None and value not in c.STATUS_FONTS:
        raise errors.ApiError(errors.INVALID_STATUS_FONT)
    return value if isinstance(value, int) else None


class StatusApi(RouteTable):
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager

    @route.post("/status")
    async def post(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        text = message_text(body.text("text"))
        args: dict[str, Any] = {
            "token": token,
            "text": text,
            "background_argb": background_argb(body.text("backgroundColor")),
            "font": font(body),
        }
        self._manager.require_connected(token)
        result = await self._manager.engine.run(commands.POST_STATUS, args)
        return ok(request, sent(result), "Status posted")


class StatusMediaApi(MediaApi):
    """``/messages/media`` for the ``status@broadcast`` chat: same sources, limits and checks."""

    SENT_MESSAGE = "Status posted"

    def __init__(self, media: MediaApi) -> None:
        # The same limits, URL fetcher, ffmpeg probe and spool directory as POST /messages/media: a status
        # must be refused or accepted exactly as that message would be. Nobody sees a status being typed.
        vars(self).update(vars(media))
        self._typing_ms = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/status/media", self.send_media)]

    def _recipient(self, body: Body, kind: str) -> str:
        if kind not in c.STATUS_MEDIA_KINDS:
            raise errors.ApiError(errors.INVALID_STATUS_TYPE)
        if body.text("replyTo"):
            raise errors.ApiError(errors.STATUS_NO_REPLY)
        return c.STATUS_CHAT

    async def _deliver(self, args: dict[str, Any]) -> Any:
        status_args = {key: args[key] for key in ("token", "kind", "path", "mimetype", "caption")}
        return await self._manager.engine.run(commands.POST_STATUS_MEDIA, status_args)
