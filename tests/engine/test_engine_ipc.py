"""Framing over a real socketpair: round trips, EOF, and the frame-size limit."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest

from wa_gateway.engine.ipc import (
    MAX_FRAME_BYTES,
    FrameReader,
    FrameTooLarge,
    FrameWriter,
    Message,
    ProtocolError,
    encode_frame,
    open_stream,
    read_frame,
)

Pair = tuple[asyncio.StreamReader, FrameWriter, asyncio.StreamReader, FrameWriter]
Read = Callable[[], Awaitable[Message | None]]
MakeRead = Callable[..., Read]


def _one_at_a_time(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> Read:
    return lambda: read_frame(reader, max_bytes)


def _buffered(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> Read:
    return FrameReader(reader, max_bytes).read


# Every framing test runs against both readers: they must accept and refuse exactly the same streams.
@pytest.fixture(params=[_one_at_a_time, _buffered], ids=["read_frame", "FrameReader"])
def make_read(request: pytest.FixtureRequest) -> MakeRead:
    maker: MakeRead = request.param
    return maker


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    left, right = socket.socketpair()
    a_reader, a_writer = await open_stream(left)
    b_reader, b_writer = await open_stream(right)
    yield a_reader, a_writer, b_reader, b_writer
    await a_writer.close()
    await b_writer.close()


async def test_round_trip_keeps_order_and_content(pair: Pair, make_read: MakeRead) -> None:
    _, a_writer, b_reader, _ = pair
    read = make_read(b_reader)
    messages = [
        {"type": "request", "id": 1, "cmd": "connect", "args": {"token": "6281234567890"}},
        {"type": "event", "token": "1234567", "event": "message", "data": {"text": "héllo ✓ 🎉"}},
        {"type": "reply", "id": 2, "ok": True, "result": {"blob": "x" * 1_000_000}},
    ]

    async def send_all() -> None:
        for message in messages:
            await a_writer.send(message)  # drains: the 1 MB frame needs the reader running

    sending = asyncio.create_task(send_all())
    received = [await read() for _ in messages]
    await sending
    assert received == messages


async def test_frames_queued_together_arrive_whole_and_in_order(pair: Pair, make_read: MakeRead) -> None:
    _, a_writer, b_reader, _ = pair
    read = make_read(b_reader)
    messages = [{"type": "ack", "seqs": [i]} for i in range(50)]
    for message in messages:
        a_writer.send_nowait(message)
    assert [await read() for _ in messages] == messages


async def test_frames_split_across_reads_are_reassembled(make_read: MakeRead) -> None:
    reader = asyncio.StreamReader()
    read = make_read(reader)
    data = b"".join(encode_frame({"id": i, "text": "é" * i}) for i in range(5))

    async def trickle() -> None:
        for index in range(len(data)):
            reader.feed_data(data[index : index + 1])
            await asyncio.sleep(0)
        reader.feed_eof()

    feeding = asyncio.create_task(trickle())
    assert [await read() for _ in range(5)] == [{"id": i, "text": "é" * i} for i in range(5)]
    assert await read() is None
    await feeding


async def test_clean_eof_between_frames_is_none(pair: Pair, make_read: MakeRead) -> None:
    _, a_writer, b_reader, _ = pair
    read = make_read(b_reader)
    await a_writer.send({"type": "ping", "id": 1})
    await a_writer.close()
    assert await read() == {"type": "ping", "id": 1}
    assert await read() is None


async def test_oversize_length_is_rejected_before_reading_the_body(make_read: MakeRead) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">I", MAX_FRAME_BYTES + 1))  # no body follows: it must not be awaited
    with pytest.raises(FrameTooLarge) as info:
        await make_read(reader)()
    assert info.value.size == MAX_FRAME_BYTES + 1


async def test_custom_limit_applies_on_read(make_read: MakeRead) -> None:
    frame = encode_frame({"text": "y" * 200})
    reader = asyncio.StreamReader()
    reader.feed_data(frame)
    with pytest.raises(FrameTooLarge):
        await make_read(reader, max_bytes=100)()


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
async def test_malformed_streams_are_protocol_errors(data: bytes, make_read: MakeRead) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    with pytest.raises(ProtocolError):
        await make_read(reader)()
