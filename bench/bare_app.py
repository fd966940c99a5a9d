"""The baseline: a bare aiohttp app that parses the same bodies and answers with the same envelope.

No middlewares, no auth, no engine, no log lines: the ceiling any aiohttp app can reach on this machine,
measured in the same run as the gateway. ``python -m bench.bare_app --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import secrets
import sqlite3
import time
import uuid
from typing import Any, Final

import orjson
from aiohttp import WSMsgType, web

CSV_CHUNK_ROWS: Final = 1000
WS_CLIENTS: Final[web.AppKey[set[web.WebSocketResponse]]] = web.AppKey("ws_clients", set)


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
    data = {
        "messageId": "3EB0" + secrets.token_hex(8).upper(),
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


def create_app() -> web.Application:
    app = web.Application()
    app[WS_CLIENTS] = set()
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
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
