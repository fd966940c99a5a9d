"""The baseline: a bare aiohttp app that parses the same bodies and answers with the same envelope.

No middlewares, no auth, no engine, no log lines: the ceiling any aiohttp app can reach on this machine,
measured in the same run as the gateway. ``python -m bench.bare_app --port N``.

With ``--ipc`` the app also starts ``bench/bare_worker.py`` on one end of a socketpair and makes
``POST /messages`` wait for one framed round trip to it (the gateway's framing, one reader task, a future
per request id): the cost of isolating the engine in its own process, and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import itertools
import secrets
import socket
import sqlite3
import struct
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from aiohttp import WSMsgType, web

CSV_CHUNK_ROWS: Final = 1000
HEADER: Final = struct.Struct(">I")
WS_CLIENTS: Final[web.AppKey[set[web.WebSocketResponse]]] = web.AppKey("ws_clients", set)


class WorkerLink:
    """One socketpair to ``bench.bare_worker``: requests go out as frames, replies resolve futures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._task = asyncio.create_task(self._read_replies())

    async def request(self, cmd: str, args: dict[str, Any]) -> Any:
        request_id = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        body = orjson.dumps({"type": "request", "id": request_id, "cmd": cmd, "args": args})
        self._writer.write(HEADER.pack(len(body)) + body)
        await self._writer.drain()
        return await reply

    async def _read_replies(self) -> None:
        while True:
            (size,) = HEADER.unpack(await self._reader.readexactly(HEADER.size))
            message = orjson.loads(await self._reader.readexactly(size))
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message["result"])

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncio.IncompleteReadError):
            await self._task
        self._writer.close()


WORKER: Final[web.AppKey[WorkerLink]] = web.AppKey("worker", WorkerLink)


async def worker_ctx(app: web.Application) -> AsyncIterator[None]:
    ours, theirs = socket.socketpair()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_worker", "--fd", str(theirs.fileno()), pass_fds=(theirs.fileno(),)
    )
    theirs.close()
    ours.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=ours)
    app[WORKER] = WorkerLink(reader, writer)
    yield
    await app[WORKER].close()
    await asyncio.wait_for(proc.wait(), 10)


def _meta() -> dict[str, str]:
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "requestId": str(uuid.uuid4()),
    }


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    data = {"status": "ok", "engine": "sandbox", "version": "bare"}
    return _json({"success": True, "data": data, "message": "ok", "meta": _meta()})


async def messages(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("token", "to", "text")):
        return _json({"success": False, "error": {"code": "INVALID_REQUEST"}, "meta": _meta()}, 400)
    worker = request.app.get(WORKER)
    if worker is None:
        message_id = "3EB0" + secrets.token_hex(8).upper()
    else:
        args = {"token": body["token"], "to": body["to"], "text": body["text"]}
        message_id = (await worker.request("send_text", args))["messageId"]
    data = {
        "messageId": message_id,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return _json({"success": True, "data": data, "message": "Message sent", "meta": _meta()})


async def validate_phone(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("token", "phone")):
        return _json({"success": False, "error": {"code": "INVALID_REQUEST"}, "meta": _meta()}, 400)
    phone = body["phone"]
    data = {"phone": phone, "isOnWhatsApp": True, "jid": phone + "@s.whatsapp.net", "cached": True}
    return _json(
        {"success": True, "data": data, "message": "Phone validation result (cached)", "meta": _meta()}
    )


async def contacts_csv(request: web.Request) -> web.StreamResponse:
    """Every row of a contacts database as CSV, read on a thread a chunk at a time: the plain way."""
    conn = await asyncio.to_thread(sqlite3.connect, request.query["db"], check_same_thread=False)
    cursor = conn.cursor()
    query = "SELECT phone, name, source, first_seen, last_seen FROM contacts ORDER BY last_seen DESC, phone"
    await asyncio.to_thread(cursor.execute, query)
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("phone", "name", "source", "first_seen", "last_seen"))
    try:
        while rows := await asyncio.to_thread(cursor.fetchmany, CSV_CHUNK_ROWS):
            writer.writerows(rows)
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
        await response.write(buffer.getvalue().encode())
    finally:
        await asyncio.to_thread(conn.close)
    await response.write_eof()
    return response


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """First message authenticates (any ``apiKey``), then the socket joins the broadcast set."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    first = await ws.receive(timeout=5)
    if first.type != WSMsgType.TEXT or orjson.loads(first.data).get("type") != "auth":
        await ws.close()
        return ws
    await ws.send_frame(orjson.dumps({"type": "auth", "success": True}), WSMsgType.TEXT)
    clients = request.app[WS_CLIENTS]
    clients.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and orjson.loads(msg.data).get("type") == "subscribe":
                await ws.send_frame(orjson.dumps({"type": "subscribe", "success": True}), WSMsgType.TEXT)
    finally:
        clients.discard(ws)
    return ws


async def broadcast(request: web.Request) -> web.Response:
    """Send a frame shaped like the gateway's ``message.received`` to every socket, one after another."""
    body = orjson.loads(await request.read())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = {
        "id": "3EB0" + secrets.token_hex(8).upper(),
        "from": body["from"],
        "chat": body["from"] + "@s.whatsapp.net",
        "pushName": None,
        "text": body["text"],
        "type": "text",
        "isGroup": False,
        "timestamp": stamp,
    }
    frame = {"event": "message.received", "token": body["token"], "data": data}
    encoded = orjson.dumps({**frame, "id": "evt_" + secrets.token_hex(14), "timestamp": stamp})
    clients: set[web.WebSocketResponse] = request.app[WS_CLIENTS]
    for ws in list(clients):
        await ws.send_frame(encoded, WSMsgType.TEXT)
    return _json(
        {"success": True, "data": {"id": data["id"]}, "message": "Message delivered", "meta": _meta()}
    )


def create_app(ipc: bool = False) -> web.Application:
    app = web.Application()
    app[WS_CLIENTS] = set()
    if ipc:
        app.cleanup_ctx.append(worker_ctx)
    app.router.add_get("/health", health)
    app.router.add_post("/messages", messages)
    app.router.add_post("/validate/phone", validate_phone)
    app.router.add_get("/contacts.csv", contacts_csv)
    app.router.add_get("/ws", websocket)
    app.router.add_post("/broadcast", broadcast)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ipc", action="store_true", help="POST /messages makes one round trip to a worker")
    args = parser.parse_args()
    web.run_app(create_app(args.ipc), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
