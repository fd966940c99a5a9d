"""Status posts through neonize: messages to ``status@broadcast`` (docs/status.md).

whatsmeow sends to the status broadcast list like to a group, its recipients being the account's contacts
(whatsmeow send.go, ``getBroadcastListParticipants``); nobody sees typing there, so none is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # type: ignore[import-untyped]
    ExtendedTextMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    Message as WAMessage,
)

from wa_gateway.backends.neonize.media import build_media_message
from wa_gateway.backends.neonize.outbound import NeonizeMessaging, jid
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

# White text unless the background is given: what WhatsApp's own status composer starts with.
WHITE_ARGB = 0xFFFFFFFF


class NeonizeStatus:
    def __init__(self, messaging: NeonizeMessaging) -> None:
        self._messaging = messaging

    @handles(c.CMD_POST_STATUS)
    async def post(
        self, token: str, text: str, background_argb: int | None, font: int | None
    ) -> dict[str, Any]:
        session = self._messaging.session_of(token)
        checks.check_status(text, background_argb, font)
        status = jid(c.STATUS_CHAT, "to")
        session.connected_client()
        content = ExtendedTextMessage(text=text, textArgb=WHITE_ARGB)
        if background_argb is not None:
            content.backgroundArgb = background_argb
        if font is not None:
            content.font = font

        async def build(_client: Any) -> Any:
            return WAMessage(extendedTextMessage=content)

        response, timestamp = await self._messaging.send_built(session, status, build)
        return {"id": str(response.ID), "timestamp": timestamp}

    @handles(c.CMD_POST_STATUS_MEDIA)
    async def post_media(self, token: str, media: c.OutgoingMedia) -> dict[str, Any]:
        session = self._messaging.session_of(token)
        if media.kind not in c.STATUS_MEDIA_KINDS:
            raise checks.invalid("a status is text, an image or a video")
        checks.media_caption(media.kind, media.mimetype, media.caption)
        status = jid(c.STATUS_CHAT, "to")
        session.connected_client()
        if media.kind == "video" and not await asyncio.to_thread(checks.ffmpeg_available):
            raise c.EngineError(
                c.E_FFMPEG_UNAVAILABLE, "sending video needs ffmpeg and ffprobe, which are not installed"
            )
        file = await asyncio.to_thread(checks.read_outgoing_media, self._messaging.data_dir, media.path)

        async def build(client: Any) -> Any:
            return await build_media_message(client, media, file.data, None)

        response, timestamp = await self._messaging.send_built(session, status, build)
        return {"id": str(response.ID), "timestamp": timestamp}
