"""Outgoing media on its way to the engine: a temporary file under ``DATA_DIR/media/outgoing/``.

Bytes are buffered up to ``FLUSH_BYTES`` and written by a worker thread, so the event loop never touches
the disk and a large upload never sits in memory whole. The file is removed after the engine's reply.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from wa_gateway.media.sniff import SNIFF_BYTES

FLUSH_BYTES: Final = 1 << 20
# Decoded in slices (a multiple of 4 characters) so a large base64 string is never copied whole.
_B64_SLICE: Final = 4 << 20
_B64_ALPHABET: Final = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE: Final = re.compile(rb"[ \t\r\n]+")
_DATA_URL: Final = re.compile(r"data:([^,;]{1,128})?(?:;[^,;]{1,64})*;base64,")


class MediaTooLarge(Exception):
    """More bytes than the cap allowed."""


class InvalidBase64(Exception):
    """Not decodable as standard base64."""


@dataclass(frozen=True, slots=True)
class MediaFile:
    path: Path
    size: int
    head: bytes  # the first SNIFF_BYTES bytes, for sniffing
    filename: str | None = None  # as the source named it (upload part, URL, Content-Disposition)
    content_type: str | None = None  # as the source labelled it (never trusted for images/audio/video)


class Spool:
    """One temporary file being written, capped at ``cap`` bytes."""

    def __init__(self, directory: Path, cap: int) -> None:
        self.path = directory / uuid.uuid4().hex
        self._cap = cap
        self._size = 0
        self._head = bytearray()
        self._buffer = bytearray()
        self._file: BinaryIO | None = None

    @property
    def size(self) -> int:
        return self._size

    async def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._cap:
            raise MediaTooLarge()
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
        self._buffer += chunk
        if len(self._buffer) >= FLUSH_BYTES:
            await self._flush()

    async def finish(self, filename: str | None = None, content_type: str | None = None) -> MediaFile:
        await self._flush(final=True)
        return MediaFile(self.path, self._size, bytes(self._head), filename, content_type)

    async def discard(self) -> None:
        await asyncio.shield(asyncio.to_thread(self._discard))

    async def _flush(self, final: bool = False) -> None:
        data = bytes(self._buffer)
        self._buffer.clear()
        await asyncio.to_thread(self._write, data, final)

    def _write(self, data: bytes, final: bool) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "xb")  # closed in finish or discard
        self._file.write(data)
        if final:
            self._file.close()

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
        self.path.unlink(missing_ok=True)


async def remove(path: Path) -> None:
    """Delete a spooled file, even when the request that owns it is being cancelled."""
    await asyncio.shield(asyncio.to_thread(path.unlink, missing_ok=True))


def data_url_type(text: str) -> tuple[str, str | None]:
    """``data:<type>;base64,<data>`` -> (data, type); anything else is returned as it is."""
    match = _DATA_URL.match(text[:256])
    if match is None:
        return text, None
    return text[match.end() :], match.group(1)


async def spool_base64(directory: Path, text: str, cap: int) -> MediaFile:
    """Decode standard base64 (line breaks allowed) into a new spooled file, refusing more than ``cap``."""
    return await asyncio.to_thread(_decode_to_file, directory / uuid.uuid4().hex, text, cap)


def _decode_to_file(path: Path, text: str, cap: int) -> MediaFile:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidBase64() from None
    if _WHITESPACE.search(raw):
        raw = _WHITESPACE.sub(b"", raw)
    if len(raw) % 4 or not _B64_ALPHABET.fullmatch(raw):
        raise InvalidBase64()
    size = len(raw) // 4 * 3 - (len(raw) - len(raw.rstrip(b"=")))
    if size > cap:
        raise MediaTooLarge()
    path.parent.mkdir(parents=True, exist_ok=True)
    head = b""
    try:
        with open(path, "xb") as out:
            for start in range(0, len(raw), _B64_SLICE):
                chunk = base64.b64decode(raw[start : start + _B64_SLICE], validate=True)
                if not head:
                    head = chunk[:SNIFF_BYTES]
                out.write(chunk)
    except (binascii.Error, ValueError):
        path.unlink(missing_ok=True)
        raise InvalidBase64() from None
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    return MediaFile(path, size, head)
