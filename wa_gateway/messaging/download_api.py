"""``GET /messages/{token}/{id}/media``: the file of an incoming media message, streamed from disk."""

from __future__ import annotations

import mimetypes
import re
from typing import Final
from urllib.parse import quote

from aiohttp import web

from wa_gateway import errors
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.media.incoming import HeldMedia, IncomingMedia
from wa_gateway.media.kinds import base_type
from wa_gateway.messaging.fields import message_id

_NOT_TOKEN_CHAR: Final = re.compile(r"[^A-Za-z0-9!#$&+.^_`|~-]")
_TYPES: Final = mimetypes.MimeTypes()


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 §4.3, RFC 8187)."""
    fallback = _NOT_TOKEN_CHAR.sub("_", filename).strip("._") or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_name(media: HeldMedia, message: str) -> str:
    if media.filename:
        return media.filename
    extension = _TYPES.guess_extension(base_type(media.mimetype), strict=False) or ""
    return f"{message}{extension}"


class MediaDownloadApi:
    def __init__(self, manager: DeviceManager, incoming: IncomingMedia) -> None:
        self._manager = manager
        self._incoming = incoming

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/messages/{token}/{id}/media", self.download)]

    async def download(self, request: web.Request) -> web.FileResponse:
        token = token_from_path(request)
        target = message_id(request.match_info["id"])
        self._manager.require(token)
        media = await self._incoming.held(token, target)
        if media is None:
            self._manager.require_connected(token)
            args = {"token": token, "message_id": target}
            result = await self._manager.engine.run(commands.DOWNLOAD_MEDIA, args)
            media = await self._incoming.accept(token, target, result if isinstance(result, dict) else {})
            if media is None:
                raise errors.ApiError(errors.MEDIA_DOWNLOAD_FAILED)
        headers = {
            "Content-Type": media.mimetype,
            "Content-Disposition": content_disposition(download_name(media, target)),
            # The file is the sender's: never let a browser run it as a page of this origin.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        }
        return web.FileResponse(media.path, headers=headers)
