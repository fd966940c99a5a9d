"""Framed orjson messages between gateway and engine worker: 4-byte big-endian length, then the body."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Final

import orjson

MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
CLOSE_FLUSH_TIMEOUT: Final = 2.0
_HEADER: Final = struct.Struct(">I")

Message = dict[str, Any]


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame; the connection cannot be trusted any more."""


class FrameTooLarge(ProtocolError):
    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"frame of {size} bytes exceeds the {limit}-byte limit")


def encode_frame(message: Message, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Serialise ``message`` as one frame; refuses to produce what the peer would reject."""
    body = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)
    if len(body) > max_bytes:
        raise FrameTooLarge(len(body), max_bytes)
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> Message:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame body is not a JSON object")
    return message


async def read_frame(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> Message | None:
    """The next message, or ``None`` at a clean end of stream (EOF between frames)."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("stream ended inside a frame header") from None
        return None
    (size,) = _HEADER.unpack(header)
    # Checked before reading so a corrupt or hostile length never makes us buffer it.
    if size > max_bytes:
        raise FrameTooLarge(size, max_bytes)
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise ProtocolError("stream ended inside a frame body") from None
    return decode_body(body)


class FrameWriter:
    """Writes whole frames; ``write`` never interleaves two frames because each goes out in one call."""

    def __init__(self, writer: asyncio.StreamWriter, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._writer = writer
        self._max_bytes = max_bytes

    @property
    def is_closing(self) -> bool:
        return self._writer.is_closing()

    async def send(self, message: Message) -> None:
        """Queue one frame and wait for the socket buffer to drain (backpressure)."""
        await self.send_frame(encode_frame(message, self._max_bytes))

    def send_nowait(self, message: Message) -> None:
        """Queue one frame without waiting for the peer to read it (for small periodic messages)."""
        frame = encode_frame(message, self._max_bytes)
        if self._writer.is_closing():
            raise ConnectionResetError("IPC stream is closed")
        self._writer.write(frame)

    async def send_frame(self, frame: bytes) -> None:
        if self._writer.is_closing():
            raise ConnectionResetError("IPC stream is closed")
        self._writer.write(frame)
        await self._writer.drain()

    async def close(self) -> None:
        """Close after flushing what is buffered, unless the peer has stopped reading: then drop it."""
        if not self._writer.is_closing():
            self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_FLUSH_TIMEOUT)
        except TimeoutError:
            self._writer.transport.abort()
        except (ConnectionError, OSError):
            pass


async def open_stream(sock: socket.socket) -> tuple[asyncio.StreamReader, FrameWriter]:
    """Asyncio streams over a connected stream socket (one end of a socketpair)."""
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    return reader, FrameWriter(writer)
