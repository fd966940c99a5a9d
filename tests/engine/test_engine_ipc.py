"""Framing over a real socketpair: round trips, EOF, and the frame-size limit."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import orjson
import pytest

from wa_gateway.engine.ipc import (
    MAX_FRAME_BYTES,
    FrameTooLarge,
    FrameWriter,
    ProtocolError,
    encode_frame,
    open_stream,
    read_frame,
)

Pair = tuple[asyncio.StreamReader, FrameWriter, asyncio.StreamReader, FrameWriter]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    left, right = socket.socketpair()
    a_reader, a_writer = await open_stream(left)
    b_reader, b_writer = await open_stream(right)
    yield a_reader, a_writer, b_reader, b_writer
    await a_writer.close()
    await b_writer.close()


async def test_round_trip_keeps_order_and_content(pair: Pair) -> None:
    _, a_writer, b_reader, _ = pair
    messages = [
        {"type": "request", "id": 1, "cmd": "connect", "args": {"token": "6281234567890"}},
        {"type": "event", "token": "1234567", "event": "message", "data": {"text": "héllo ✓ 🎉"}},
        {"type": "reply", "id": 2, "ok": True, "result": {"blob": "x" * 1_000_000}},
    ]

    async def send_all() -> None:
        for message in messages:
            await a_writer.send(message)  # drains: the 1 MB frame needs the reader running

    sending = asyncio.create_task(send_all())
    received = [await read_frame(b_reader) for _ in messages]
    await sending
    assert received == messages


async def test_clean_eof_between_frames_is_none(pair: Pair) -> None:
    _, a_writer, b_reader, _ = pair
    await a_writer.send({"type": "ping", "id": 1})
    await a_writer.close()
    assert await read_frame(b_reader) == {"type": "ping", "id": 1}
    assert await read_frame(b_reader) is None


async def test_oversize_length_is_rejected_before_reading_the_body() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">I", MAX_FRAME_BYTES + 1))  # no body follows: it must not be awaited
    with pytest.raises(FrameTooLarge) as info:
        await read_frame(reader)
    assert info.value.size == MAX_FRAME_BYTES + 1


async def test_custom_limit_applies_on_read() -> None:
    frame = encode_frame({"text": "y" * 200})
    reader = asyncio.StreamReader()
    reader.feed_data(frame)
    with pytest.raises(FrameTooLarge):
        await read_frame(reader, max_bytes=100)


def test_encoder_refuses_a_frame_the_peer_would_reject() -> None:
    with pytest.raises(FrameTooLarge):
        encode_frame({"text": "z" * 200}, max_bytes=100)
    assert len(encode_frame({"text": "z"}, max_bytes=100)) == 4 + len(orjson.dumps({"text": "z"}))


@pytest.mark.parametrize(
    "data",
    [
        struct.pack(">I", 10) + b"{}",  # truncated body
        b"\x00\x00",  # truncated header
        struct.pack(">I", 3) + b"[1]",  # not an object
        struct.pack(">I", 3) + b"{x}",  # not JSON
    ],
)
async def test_malformed_streams_are_protocol_errors(data: bytes) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    with pytest.raises(ProtocolError):
        await read_frame(reader)
