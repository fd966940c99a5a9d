"""``PUT /groups/{token}/{gid}/picture``: the request body is the JPEG itself (docs/groups.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from wa_gateway import errors
from wa_gateway.body import unreadable_body
from wa_gateway.media.spool import MediaTooLarge, Spool

# WhatsApp scales group pictures down to 640x640; a JPEG of that size is far below this.
MAX_PICTURE_BYTES: Final = 5 * 1024 * 1024
CHUNK_BYTES: Final = 64 * 1024
JPEG_MAGIC: Final = b"\xff\xd8\xff"


async def receive_picture(request: web.Request, outgoing_dir: Path) -> Path:
    """The body spooled to a file the engine reads; the caller removes it."""
    spool = Spool(outgoing_dir, MAX_PICTURE_BYTES)
    try:
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            await spool.write(chunk)
        media = await spool.finish()
    except MediaTooLarge:
        await spool.discard()
        raise errors.ApiError(errors.PAYLOAD_TOO_LARGE) from None
    except RequestPayloadError:
        await spool.discard()
        raise unreadable_body(request) from None
    except BaseException:
        await spool.discard()
        raise
    if not media.head.startswith(JPEG_MAGIC):
        await spool.discard()
        raise errors.ApiError(errors.INVALID_GROUP_PICTURE)
    return media.path
