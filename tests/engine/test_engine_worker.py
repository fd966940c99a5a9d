"""The worker's serving loop in-process over a real socketpair, with a scripted backend."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from wa_gateway.engine import contract as c
from wa_gateway.engine.ipc import FrameWriter, Message, open_stream, read_frame
from wa_gateway.worker.main import EXIT_BACKEND, EXIT_OK, WorkerServer

TOKEN = "6281234567890"


class ScriptedBackend:
    name = "scripted"

    def __init__(self) -> None:
        self.emit: c.EmitFn | None = None
        self.gate = asyncio.Event()
        self.calls: list[tuple[Any, ...]] = []
        self.closed = False

    async def start(self, emit: c.EmitFn) -> None:
        self.emit = emit

    def handler(self, cmd: str) -> Any:
        return getattr(self, cmd)

    async def connect(
        self, token: str, method: c.ConnectMethod, device_name: str, jid: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("connect", token, method, device_name))
        assert self.emit is not None
        self.emit(token, c.EV_QR, {"code": "2@ref,a,b,c"})
        return {"paired": False}

    async def disconnect(self, token: str) -> None:
        raise c.EngineError(c.E_DEVICE_NOT_FOUND, f"no client for {token}")

    async def logout(self, token: str) -> None:
        raise RuntimeError("secret internal detail")

    async def send_text(
        self,
        token: str,
        to: str,
        text: str,
        typing_ms: int,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        reply_ref: str | None = None,
    ) -> dict[str, Any]:
        await self.gate.wait()
        return {"id": text, "timestamp": 1.0}

    async def check_numbers(self, token: str, phones: list[str]) -> list[c.NumberCheck]:
        return [{"phone": p, "isOnWhatsApp": True, "jid": f"{p}@s.whatsapp.net"} for p in phones]

    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None:
        self.calls.append(("mark_read", token, chat, sender, ids))

    async def list_sessions(self) -> list[dict[str, Any]]:
        return [{"token": TOKEN, "paired": True}]

    async def status(self) -> list[dict[str, Any]]:
        return []

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        assert self.emit is not None
        if op == "burst":
            for i in range(args["count"]):
                self.emit(TOKEN, c.EV_MESSAGE, {"n": i})
            return None
        if op == "unencodable":
            return {"value": {1, 2}}
        return {"op": op, "args": args}

    async def close(self) -> None:
        self.closed = True


class Gateway:
    """The gateway's end of the socketpair, speaking the wire protocol by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: FrameWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 0

    async def send(self, cmd: str, args: dict[str, Any] | None = None) -> int:
        self.next_id += 1
        await self.writer.send({"type": "request", "id": self.next_id, "cmd": cmd, "args": args or {}})
        return self.next_id

    async def frame(self) -> Message:
        message = await asyncio.wait_for(read_frame(self.reader), 5)
        assert message is not None, "worker closed the connection"
        return message

    async def reply(self, request_id: int) -> Message:
        while True:
            message = await self.frame()
            if message.get("type") == "reply" and message.get("id") == request_id:
                return message

    async def call(self, cmd: str, args: dict[str, Any] | None = None) -> Message:
        return await self.reply(await self.send(cmd, args))


Harness = tuple[Gateway, "asyncio.Task[int]", ScriptedBackend]
Factory = Callable[[dict[str, Any]], Awaitable[c.EngineBackend]]


async def _start(config: dict[str, Any], factory: Factory | None) -> tuple[Gateway, asyncio.Task[int]]:
    gateway_end, worker_end = socket.socketpair()
    worker_reader, worker_writer = await open_stream(worker_end)
    server = WorkerServer(worker_reader, worker_writer, config, factory)
    task = asyncio.create_task(server.run())
    reader, writer = await open_stream(gateway_end)
    return Gateway(reader, writer), task


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    backend = ScriptedBackend()

    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        return backend

    gateway, task = await _start({"engine": "scripted", "device_name": "Firefox (Linux)"}, factory)
    hello = await gateway.frame()
    assert hello["type"] == "hello" and hello["engine"] == "scripted" and isinstance(hello["pid"], int)
    yield gateway, task, backend
    backend.gate.set()
    await gateway.writer.close()
    assert await asyncio.wait_for(task, 5) == EXIT_OK


async def test_request_reply_and_event_order(harness: Harness) -> None:
    gateway, _, backend = harness
    request_id = await gateway.send(c.CMD_CONNECT, {"token": TOKEN, "method": "qr"})
    event = await gateway.frame()
    assert event == {"type": "event", "token": TOKEN, "event": c.EV_QR, "data": {"code": "2@ref,a,b,c"}}
    assert await gateway.frame() == {
        "type": "reply",
        "id": request_id,
        "ok": True,
        "result": {"paired": False},
    }
    assert backend.calls == [("connect", TOKEN, "qr", "Firefox (Linux)")]
    reply = await gateway.call(c.CMD_CHECK_NUMBERS, {"token": TOKEN, "phones": ["628111"]})
    assert reply["result"] == {
        "results": [{"phone": "628111", "isOnWhatsApp": True, "jid": "628111@s.whatsapp.net"}]
    }
    assert (await gateway.call(c.CMD_LIST_SESSIONS))["result"] == {
        "sessions": [{"token": TOKEN, "paired": True}]
    }
    reply = await gateway.call(c.CMD_SANDBOX, {"op": "link", "token": TOKEN})
    assert reply["result"] == {"op": "link", "args": {"token": TOKEN}}


async def test_errors_are_replies(harness: Harness) -> None:
    gateway, _, _ = harness
    reply = await gateway.call(c.CMD_DISCONNECT, {"token": TOKEN})
    assert reply["ok"] is False and reply["error"]["code"] == c.E_DEVICE_NOT_FOUND
    reply = await gateway.call(c.CMD_LOGOUT, {"token": TOKEN})
    assert reply["error"]["code"] == c.E_ENGINE_FAILURE
    assert "secret" not in reply["error"]["message"]
    assert (await gateway.call("fly"))["error"]["code"] == c.E_UNKNOWN_COMMAND
    assert (await gateway.call("_test_block_loop"))["error"]["code"] == c.E_UNKNOWN_COMMAND  # hooks are off
    assert (await gateway.call(c.CMD_CONNECT, {}))["error"]["code"] == c.E_INVALID_ARGUMENT
    assert (await gateway.call(c.CMD_CONNECT, {"token": TOKEN, "method": "sms"}))["error"]["code"] == (
        c.E_INVALID_ARGUMENT
    )
    bad_typing = {"token": TOKEN, "to": "1@s.whatsapp.net", "text": "x", "typing_ms": -1}
    assert (await gateway.call(c.CMD_SEND_TEXT, bad_typing))["error"]["code"] == c.E_INVALID_ARGUMENT
    assert (await gateway.call(c.CMD_SANDBOX, {"op": "unencodable"}))["error"]["code"] == c.E_ENGINE_FAILURE


async def test_requests_run_concurrently_and_pings_are_answered(harness: Harness) -> None:
    gateway, _, backend = harness
    slow = await gateway.send(c.CMD_SEND_TEXT, {"token": TOKEN, "to": "1@s.whatsapp.net", "text": "slow"})
    await gateway.writer.send({"type": "ping", "id": 7})
    # A backend that keeps no figures reports none (wa_gateway/engine/worker_stats.py).
    assert await gateway.frame() == {"type": "pong", "id": 7, "stats": {}}
    fast = await gateway.call(c.CMD_STATUS)
    assert fast["result"] == {"devices": []}
    backend.gate.set()
    assert (await gateway.reply(slow))["result"] == {"id": "slow", "timestamp": 1.0}


async def test_events_keep_their_order(harness: Harness) -> None:
    gateway, _, _ = harness
    request_id = await gateway.send(c.CMD_SANDBOX, {"op": "burst", "count": 500})
    seen = []
    while True:
        frame = await gateway.frame()
        if frame["type"] == "reply":
            assert frame["id"] == request_id
            break
        seen.append(frame["data"]["n"])
    assert seen == list(range(500))


async def test_shutdown_replies_closes_the_backend_and_exits_zero() -> None:
    backend = ScriptedBackend()

    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        return backend

    gateway, task = await _start({"engine": "scripted"}, factory)
    assert (await gateway.frame())["type"] == "hello"
    await gateway.send(c.CMD_SEND_TEXT, {"token": TOKEN, "to": "1@s.whatsapp.net", "text": "stuck"})
    shutdown = await gateway.send(c.CMD_SHUTDOWN)
    assert await gateway.reply(shutdown) == {"type": "reply", "id": shutdown, "ok": True, "result": None}
    assert await asyncio.wait_for(task, 5) == EXIT_OK
    assert backend.closed
    assert await read_frame(gateway.reader) is None  # the stuck send was cancelled, never answered
    await gateway.writer.close()


async def test_eof_from_the_gateway_ends_the_worker() -> None:
    backend = ScriptedBackend()

    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        return backend

    gateway, task = await _start({"engine": "scripted"}, factory)
    assert (await gateway.frame())["type"] == "hello"
    await gateway.writer.close()
    assert await asyncio.wait_for(task, 5) == EXIT_OK
    assert backend.closed


async def test_backend_that_cannot_start_is_a_fatal_message() -> None:
    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        raise OSError("cannot open session store")

    gateway, task = await _start({"engine": "scripted"}, factory)
    fatal = await gateway.frame()
    assert fatal == {
        "type": "fatal",
        "code": c.E_ENGINE_FAILURE,
        "message": "OSError: cannot open session store",
    }
    assert await asyncio.wait_for(task, 5) == EXIT_BACKEND
    await gateway.writer.close()


async def test_unknown_engine_name_is_a_fatal_message() -> None:
    gateway, task = await _start({"engine": "telegram"}, None)
    fatal = await gateway.frame()
    assert fatal["type"] == "fatal" and "unknown engine 'telegram'" in fatal["message"]
    assert await asyncio.wait_for(task, 5) == EXIT_BACKEND
    await gateway.writer.close()
