"""``POST /messages/media``: an image, video, audio, voice note, document or sticker, from a multipart
upload, base64 or a URL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import Body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok
from wa_gateway.media.fetch import UrlFetcher, UrlFetchFailed, UrlInvalid, UrlNotAllowed
from wa_gateway.media.ffmpeg import FfmpegProbe
from wa_gateway.media.kinds import (
    MediaLimits,
    default_filename,
    needs_ffmpeg,
    outgoing_mimetype,
    safe_filename,
    takes_caption,
    too_large,
    valid_filename,
    valid_mimetype,
)
from wa_gateway.media.sniff import sniff
from wa_gateway.media.spool import (
    InvalidBase64,
    MediaFile,
    MediaTooLarge,
    data_url_type,
    remove,
    spool_base64,
)
from wa_gateway.media.upload import read_media_request
from wa_gateway.messaging.fields import MAX_TEXT_CHARS, body_token, reply_to, sent
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable, route

# Uploading to WhatsApp's media servers takes a while for a large file; the typing delay comes on top.
MEDIA_SEND_TIMEOUT_S: Final = 300.0


@dataclasses.dataclass(frozen=True, slots=True)
class _MediaFields:
    token: str
    kind: str
    base64: str
    url: str
    caption: str | None
    filename: str | None
    mimetype: str | None


class MediaApi(RouteTable):
    SENT_MESSAGE: ClassVar[str] = "Media sent"

    def __init__(
        self,
        manager: DeviceManager,
        phones: PhoneRules,
        *,
        limits: MediaLimits,
        fetcher: UrlFetcher,
        ffmpeg: FfmpegProbe,
        outgoing_dir: Path,
        typing_delay_ms: int,
    ) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)
        self._limits = limits
        self._fetcher = fetcher
        self._ffmpeg = ffmpeg
        self._outgoing = outgoing_dir.absolute()
        self._typing_ms = typing_delay_ms

    @route.post("/messages/media")
    async def send_media(self, request: web.Request) -> web.Response:
        parsed = await read_media_request(request, self._outgoing, self._limits)
        media = parsed.upload
        try:
            fields = _fields(parsed.body, uploaded=media is not None)
            to = self._recipient(parsed.body, fields.kind)
            quoted = reply_to(parsed.body)
            self._manager.require_connected(fields.token)
            if needs_ffmpeg(fields.kind) and not await self._ffmpeg.available():
                raise errors.ApiError(errors.FFMPEG_UNAVAILABLE)
            limit = self._limits.for_kind(fields.kind)
            if media is None:
                media = await self._materialise(fields, limit)
            mimetype, filename = _describe(fields, media, limit)
            args: dict[str, Any] = {
                "token": fields.token,
                "to": to,
                "kind": fields.kind,
                "path": str(media.path),
                "mimetype": mimetype,
                "filename": filename,
                "caption": fields.caption,
                "reply_to": quoted,
                "typing_ms": self._typing_ms,
            }
            result = await self._deliver(args)
        finally:
            if media is not None:
                await remove(media.path)
        data = {**sent(result), "type": fields.kind, "mimetype": mimetype, "size": media.size}
        if filename is not None:
            data["filename"] = filename
        return ok(request, data, self.SENT_MESSAGE)

    def _recipient(self, body: Body, kind: str) -> str:
        return self._recipients.text_to(body.text("to"))

    async def _deliver(self, args: dict[str, Any]) -> Any:
        return await self._manager.engine.call(
            c.CMD_SEND_MEDIA,
            args,
            within=self._typing_ms / 1000 + MEDIA_SEND_TIMEOUT_S,
            failure=errors.SEND_FAILED,
            sends=True,
            codes=commands.SEND_MEDIA.codes,
        )

    async def _materialise(self, fields: _MediaFields, limit: int) -> MediaFile:
        try:
            if fields.base64:
                data, hint = data_url_type(fields.base64)
                media = await spool_base64(self._outgoing, data, limit)
                return dataclasses.replace(media, content_type=hint)
            return await self._fetcher.fetch(fields.url, self._outgoing, limit)
        except MediaTooLarge:
            raise too_large(fields.kind, limit) from None
        except InvalidBase64:
            raise errors.ApiError(errors.INVALID_BASE64) from None
        except UrlInvalid:
            raise errors.ApiError(errors.INVALID_MEDIA_URL) from None
        except UrlNotAllowed:
            raise errors.ApiError(errors.MEDIA_URL_NOT_ALLOWED) from None
        except UrlFetchFailed as exc:
            spec = errors.MEDIA_FETCH_FAILED
            raise errors.ApiError(spec, spec.message.format(reason=exc.reason)) from None


def _describe(fields: _MediaFields, media: MediaFile, limit: int) -> tuple[str, str | None]:
    """The file's mimetype and name as WhatsApp gets them, once its size and content fit its kind."""
    if media.size > limit:
        raise too_large(fields.kind, limit)
    if media.size == 0:
        raise errors.ApiError(errors.MEDIA_EMPTY)
    mimetype = outgoing_mimetype(
        fields.kind, sniff(media.head), fields.mimetype, fields.filename or media.filename, media.content_type
    )
    if fields.filename or fields.kind != "document":
        return mimetype, fields.filename
    return mimetype, safe_filename(media.filename) or default_filename(fields.kind, mimetype)


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _fields(body: Body, *, uploaded: bool) -> _MediaFields:
    """The body's fields in the order the errors are reported: token, type, source, then the details."""
    token = body_token(body)
    kind = body.text("type")
    if kind not in c.MEDIA_KINDS:
        raise errors.ApiError(errors.INVALID_MEDIA_TYPE)
    b64 = body.text("base64")
    url = body.text("url")
    if sum((uploaded, bool(b64), bool(url))) != 1:
        raise errors.ApiError(errors.MEDIA_SOURCE_REQUIRED)
    if url and not _is_http(url):
        raise errors.ApiError(errors.INVALID_MEDIA_URL)
    caption = body.text("caption") or None
    if caption is not None and not takes_caption(kind):
        raise errors.ApiError(errors.CAPTION_NOT_SUPPORTED)
    if caption is not None and len(caption) > MAX_TEXT_CHARS:
        raise errors.ApiError(errors.CAPTION_TOO_LONG)
    filename = body.text("filename")
    mimetype = body.text("mimetype")
    return _MediaFields(
        token=token,
        kind=kind,
        base64=b64,
        url=url,
        caption=caption,
        filename=valid_filename(filename) if filename else None,
        mimetype=valid_mimetype(mimetype) if mimetype else None,
    )
