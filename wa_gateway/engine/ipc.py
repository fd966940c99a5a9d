"""Framed orjson messages between gateway and engine worker: 4-byte big-endian length, then the body.

Both ends exchange a frame per request and per reply, so the framing is on the hot path of every
engine call (BENCHMARKS.md, "Where the time goes"): a reader decodes every whole frame of one socket
read at once, and a writer puts every frame queued in one loop iteration into one ``send`` system call.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import struct
from typing import Any, Final

import orjson

MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
CLOSE_FLUSH_TIMEOUT: Final = 2.0
READ_CHUNK_BYTES: Final = 256 * 1024
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


def decode_body(body: bytes | bytearray) -> Message:
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


class FrameReader:
    """Reads frames from a stream; one socket read yields every whole frame it holds."""

    def __init__(self, reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._reader = reader
        self._max_bytes = max_bytes
        self._buffer = bytearray()
        self._ready: collections.deque[Message] = collections.deque()

    async def read(self) -> Message | None:
        """The next message, or ``None`` at a clean end of stream (EOF between frames)."""
        while not self._ready:
            chunk = await self._reader.read(READ_CHUNK_BYTES)
            if not chunk:
                if len(self._buffer) >= _HEADER.size:
                    raise ProtocolError("stream ended inside a frame body")
                if self._buffer:
                    raise ProtocolError("stream ended inside a frame header")
                return None
            self._buffer += chunk
            self._split()
        return self._ready.popleft()

    def _split(self) -> None:
        buffer, offset, end = self._buffer, 0, len(self._buffer)
        while end - offset >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buffer, offset)
            # Checked before waiting for the body so a corrupt or hostile length never makes us buffer it.
            if size > self._max_bytes:
                raise FrameTooLarge(size, self._max_bytes)
            start = offset + _HEADER.size
            if end - start < size:
                break
            self._ready.append(decode_body(buffer[start : start + size]))
            offset = start + size
        if offset:
            del buffer[:offset]


class FrameWriter:
    """Writes whole frames in order; the frames of one loop iteration leave in one write."""

    def __init__(self, writer: asyncio.StreamWriter, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._writer = writer
        self._max_bytes = max_bytes
        self._queued: list[bytes] = []

    @property
    def is_closing(self) -> bool:
        return self._writer.is_closing()

    async def send(self, message: Message) -> None:
        """Queue one frame and wait for the socket buffer to drain (backpressure)."""
        await self.send_frame(encode_frame(message, self._max_bytes))

    def send_nowait(self, message: Message) -> None:
        """Queue one frame without waiting for the peer to read it (for small periodic messages)."""
        self.queue_frame(encode_frame(message, self._max_bytes))

    def queue_frame(self, frame: bytes) -> None:
        """Queue an encoded frame; it is written, with the others of this loop iteration, soon after."""
        if self._writer.is_closing():
            raise ConnectionResetError("IPC stream is closed")
        if not self._queued:
            asyncio.get_running_loop().call_soon(self._flush)
        self._queued.append(frame)

    async def send_frame(self, frame: bytes) -> None:
        self.queue_frame(frame)
        await self._writer.drain()

    def _flush(self) -> None:
        frames, self._queued = self._queued, []
        if frames and not self._writer.is_closing():
            self._writer.write(b"".join(frames) if len(frames) > 1 else frames[0])

    async def close(self) -> None:
        """Close after flushing what is buffered, unless the peer has stopped reading: then drop it."""
        self._flush()
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
