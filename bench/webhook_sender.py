"""Baseline for webhooks: a bare aiohttp client posting signed bodies, one in flight per device.

``python -m bench.webhook_sender --url ... --secret S --events N --devices D``: each device's events go
out in order, one at a time, D devices at once (the gateway's dispatcher runs up to 8 at once); every
request carries the same signatures the gateway sends (``X-Webhook-Signature`` and the Standard Webhooks
trio). No storage, no retries: the ceiling of signed delivery from Python to this receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import secrets
import sys
import time
from typing import Any

import aiohttp
import orjson

from bench.receiver import ID_PREFIX


def signed_headers(secret: bytes, msg_id: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    standard = hmac.new(secret, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Webhook-Signature": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(standard).decode(),
    }


def message_body(token: str, device: int, seq: int) -> tuple[str, bytes]:
    msg_id = f"evt_{secrets.token_hex(14)}"
    data = {
        "id": f"{ID_PREFIX}{device:02d}{seq:07d}",
        "from": "60111111111",
        "chat": "60111111111@s.whatsapp.net",
        "pushName": "Bench",
        "text": f"benchmark event {seq}",
        "type": "text",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "isGroup": False,
    }
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload = {"id": msg_id, "event": "message.received", "token": token, "data": data, "timestamp": stamp}
    return msg_id, orjson.dumps(payload)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    secret = args.secret.encode()
    per_device = args.events // args.devices
    failures = 0

    async def device(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal failures
        token = f"6019{index:07d}"
        for seq in range(per_device):
            msg_id, body = message_body(token, index, seq)
            async with session.post(
                args.url, data=body, headers=signed_headers(secret, msg_id, body)
            ) as resp:
                await resp.read()
                if not 200 <= resp.status < 300:
                    failures += 1

    connector = aiohttp.TCPConnector(limit=args.devices)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(device(session, index) for index in range(args.devices)))
        seconds = time.monotonic() - started
    sent = per_device * args.devices
    return {"sent": sent, "failures": failures, "seconds": seconds, "rate": sent / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--devices", type=int, default=8)
    args = parser.parse_args()
    if not args.url.startswith("http://127.0.0.1"):
        parser.error("only 127.0.0.1 is a target")
    result = asyncio.run(main_async(args))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
