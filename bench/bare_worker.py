"""The baseline's worker: one process that answers framed requests over an inherited socket.

``python -m bench.bare_worker --fd N``. The framing is the gateway's IPC framing (4-byte big-endian
length, then an orjson object: docs/architecture.md "The engine contract"), but the worker does nothing
with a request except answer it with a message id: no backend, no journal, no store. Together with
``bench/bare_app.py --ipc`` it measures what one round trip to another process costs an aiohttp app.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import struct
import time
from typing import Final

import orjson

HEADER: Final = struct.Struct(">I")


async def serve(sock: socket.socket) -> None:
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    while True:
        try:
            (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
            request = orjson.loads(await reader.readexactly(size))
        except asyncio.IncompleteReadError:
            return  # the app closed its end: it exited
        result = {
            "messageId": "3EB0" + secrets.token_hex(8).upper(),
            "timestamp": int(time.time()),
        }
        body = orjson.dumps({"type": "reply", "id": request["id"], "ok": True, "result": result})
        writer.write(HEADER.pack(len(body)) + body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(socket.socket(fileno=args.fd)))


if __name__ == "__main__":
    main()
