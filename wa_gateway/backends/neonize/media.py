"""Media messages through neonize's own builders, run off the worker's loop.

The builders decode images (Pillow), write temporary files and wait for ffmpeg; none of that may stall the
loop every device shares. They run on a helper thread with a loop of their own, against a stand-in for the
client whose Go calls (the upload, group lookups for @mentions) hop back to the worker's loop, so every FFI
call still goes through the Go lock and the FFI pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

from neonize.aioze.client import NewAClient  # type: ignore[import-untyped]
from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.utils.enum import MediaType  # type: ignore[import-untyped]

from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks

log = logging.getLogger(__name__)

T = TypeVar("T")

# The field of waE2E.Message each kind is sent as.
MEDIA_FIELDS: Final = {
    "image": "imageMessage",
    "video": "videoMessage",
    "audio": "audioMessage",
    "voice": "audioMessage",
    "document": "documentMessage",
    "sticker": "stickerMessage",
}
# The upload's media type picks the encryption keys (docs/engine.md, "Uploads"); it must follow the
# message kind, never libmagic, which calls AAC audio in an MP4 container video/mp4.
UPLOAD_TYPES: Final = {
    "image": MediaType.MediaImage,
    "sticker": MediaType.MediaImage,
    "video": MediaType.MediaVideo,
    "audio": MediaType.MediaAudio,
    "voice": MediaType.MediaAudio,
    "document": MediaType.MediaDocument,
}
# The encryption fields neonize's builders copy from the upload; a channel's media has none of them.
UNENCRYPTED_ABSENT: Final = ("mediaKey", "fileEncSHA256", "thumbnailEncSHA256", "mediaKeyTimestamp")
# WhatsApp plays a voice note only when it is declared as Opus in Ogg.
VOICE_MIMETYPE: Final = "audio/ogg; codecs=opus"


class _ClientStandIn:
    """``self`` for neonize's builder methods on the helper thread."""

    _make_quoted_message = NewAClient._make_quoted_message
    _parse_mention = NewAClient._parse_mention

    def __init__(
        self, client: Any, loop: asyncio.AbstractEventLoop, media_type: Any, *, newsletter: bool = False
    ) -> None:
        self._client = client
        self._loop = loop
        self._media_type = media_type
        self._newsletter = newsletter

    async def _on_client_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def upload(self, binary: bytes, _guessed: Any = None) -> Any:
        if self._newsletter:
            # Channel media is uploaded unencrypted (whatsmeow upload.go UploadNewsletter).
            return await self._on_client_loop(self._client.upload_newsletter(binary, self._media_type))
        return await self._on_client_loop(self._client.upload(binary, self._media_type))

    async def _parse_group_mention(self, text: str | None = None) -> Any:
        return await self._on_client_loop(self._client._parse_group_mention(text))


def needs_ffmpeg(media: c.OutgoingMedia) -> bool:
    if media.kind in c.FFMPEG_KINDS:
        return True
    # Animated stickers are converted to animated WebP by ffmpeg; still images only need Pillow.
    return media.kind == "sticker" and (media.mimetype.startswith("video/") or media.mimetype == "image/gif")


async def _build(stand_in: _ClientStandIn, media: c.OutgoingMedia, data: bytes, quoted: Any) -> Any:
    caption = media.caption or None
    match media.kind:
        case "image":
            return await NewAClient.build_image_message(stand_in, data, caption=caption, quoted=quoted)
        case "video":
            return await NewAClient.build_video_message(stand_in, data, caption=caption, quoted=quoted)
        case "audio" | "voice":
            ptt = media.kind == "voice"
            return await NewAClient.build_audio_message(stand_in, data, ptt=ptt, quoted=quoted)
        case "document":
            return await NewAClient.build_document_message(
                stand_in,
                data,
                caption=caption,
                title=media.filename,
                filename=media.filename,
                mimetype=media.mimetype,
                quoted=quoted,
            )
        case "sticker":
            return await NewAClient.build_sticker_message(stand_in, data, quoted=quoted)
    raise checks.invalid(f"kind must be one of {', '.join(c.MEDIA_KINDS)}")


async def build_media_message(
    client: Any, media: c.OutgoingMedia, data: bytes, quoted: Any | None, *, newsletter: bool = False
) -> Any:
    """The waE2E.Message for ``media`` with the file uploaded; ``quoted`` is a cached neonize Message.

    Raises NeonizeError when Go refuses (upload), EngineError when the file is not what its kind says.
    """
    loop = asyncio.get_running_loop()
    stand_in = _ClientStandIn(client, loop, UPLOAD_TYPES.get(media.kind), newsletter=newsletter)

    def run() -> Any:
        return asyncio.run(_build(stand_in, media, data, quoted))

    try:
        message = await asyncio.to_thread(run)
    except (NeonizeError, c.EngineError):
        raise
    except Exception as exc:
        log.info("a %s could not be prepared for sending: %r", media.kind, exc)
        raise checks.invalid(f"the file could not be sent as {media.kind} ({type(exc).__name__})") from None
    content = getattr(message, MEDIA_FIELDS[media.kind])
    if newsletter:
        # Unencrypted media has no keys: whatsmeow's UploadNewsletter example leaves these fields out.
        for field in UNENCRYPTED_ABSENT:
            if field in content.DESCRIPTOR.fields_by_name:
                content.ClearField(field)
    if media.kind == "voice":
        content.mimetype = VOICE_MIMETYPE
    elif media.kind != "sticker":  # a sticker is whatever WebP the builder made of the file
        # The gateway's type is authoritative (libmagic calls an .ogg voice note "audio/ogg", a .docx a zip).
        content.mimetype = media.mimetype
    return message
