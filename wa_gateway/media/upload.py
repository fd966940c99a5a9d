"""Reading ``POST /messages/media``: a JSON body (``base64`` or ``url``) or a multipart upload.

This route may take more than ``MAX_BODY_BYTES``: a JSON body up to the base64 size of the largest media
limit, a multipart body as one file (streamed to disk, capped by its kind's limit) plus small text fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from wa_gateway import errors
from wa_gateway.body import Body, read_body, unreadable_body
from wa_gateway.engine import contract as c
from wa_gateway.media.kinds import MediaLimits, too_large
from wa_gateway.media.spool import MediaFile, MediaTooLarge, Spool, remove

FILE_FIELD: Final = "file"
MAX_PARTS: Final = 32
# A caption of 65,536 characters is at most 256 KiB of UTF-8.
MAX_FIELD_BYTES: Final = 256 * 1024
READ_CHUNK: Final = 256 * 1024
JSON_SLACK_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class MediaRequest:
    body: Body
    upload: MediaFile | None


def json_body_cap(limits: MediaLimits) -> int:
    return -(-limits.largest // 3) * 4 + JSON_SLACK_BYTES


async def read_media_request(request: web.Request, directory: Path, limits: MediaLimits) -> MediaRequest:
    if request.content_type == "multipart/form-data":
        cap = limits.largest + MAX_PARTS * MAX_FIELD_BYTES
        if request.content_length is not None and request.content_length > cap:
            raise errors.ApiError(errors.PAYLOAD_TOO_LARGE)
        return await _read_multipart(request, directory, limits)
    cap = json_body_cap(limits)
    if request.content_length is not None and request.content_length > cap:
        raise errors.ApiError(errors.PAYLOAD_TOO_LARGE)
    return MediaRequest(await read_body(request.clone(client_max_size=cap)), None)


async def _read_multipart(request: web.Request, directory: Path, limits: MediaLimits) -> MediaRequest:
    fields: dict[str, str] = {}
    upload: MediaFile | None = None
    try:
        reader = await request.multipart()
        for _ in range(MAX_PARTS):
            part = await reader.next()
            if part is None:
                return MediaRequest(Body(dict(fields)), upload)
            if not isinstance(part, BodyPartReader) or not part.name:
                raise errors.ApiError(errors.INVALID_MEDIA_UPLOAD)
            if part.name.lower() == FILE_FIELD:
                if upload is not None:
                    raise errors.ApiError(errors.INVALID_MEDIA_UPLOAD)
                upload = await _spool_part(part, directory, limits, fields.get("type"))
            elif part.filename is not None:
                raise errors.ApiError(errors.INVALID_MEDIA_UPLOAD)
            else:
                fields[part.name] = await _read_field(part)
        raise errors.ApiError(errors.INVALID_MEDIA_UPLOAD)
    except BaseException as exc:
        if upload is not None:
            await remove(upload.path)
        if isinstance(exc, RequestPayloadError):  # a bad Content-Encoding
            raise unreadable_body(request, errors.INVALID_MEDIA_UPLOAD) from None
        if isinstance(exc, ValueError | HttpProcessingError):  # broken multipart framing or headers
            raise errors.ApiError(errors.INVALID_MEDIA_UPLOAD) from None
        raise


async def _spool_part(
    part: BodyPartReader, directory: Path, limits: MediaLimits, kind: str | None
) -> MediaFile:
    known = kind in c.MEDIA_KINDS
    cap = limits.for_kind(kind) if known and kind is not None else limits.largest
    spool = Spool(directory, cap)
    try:
        while chunk := await part.read_chunk(READ_CHUNK):
            await spool.write(chunk)
        return await spool.finish(part.filename, part.headers.get(hdrs.CONTENT_TYPE))
    except MediaTooLarge:
        await spool.discard()
        raise too_large(kind if known and kind is not None else "media", cap) from None
    except BaseException:
        await spool.discard()
        raise


async def _read_field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(READ_CHUNK):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise errors.ApiError(errors.PAYLOAD_TOO_LARGE)
    try:
        return data.decode(part.get_charset(default="utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise errors.ApiError(errors.INVALID_REQUEST) from None
