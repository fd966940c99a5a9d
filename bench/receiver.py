"""A webhook receiver that checks every signature, counts, and checks order per device.

``python -m bench.receiver --port N --secret S [--down]``. ``POST /hook`` takes deliveries; while "down"
it answers 503 with ``Retry-After: 1`` (a receiver under maintenance). ``POST /_up`` and ``POST /_down``
switch, ``POST /_reset`` clears the counters, ``GET /_stats`` reports them. Times are this machine's
monotonic clock (``time.monotonic()``, CLOCK_MONOTONIC, the same in every process), so the orchestrator
can compare them with its own.

Order: events carry ``data.id`` = ``BENCH<device:2><seq:7>``; within one device each new id must be
higher than every id delivered before it (a repeated id is a duplicate, allowed by at-least-once).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiohttp import web

ID_PREFIX: Final = "BENCH"


@dataclass
class Tally:
    up: bool = True
    up_at: float | None = None
    delivered: int = 0
    refused: int = 0
    bad_signature: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    first_at: float | None = None
    last_at: float | None = None
    events: Counter[str] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    highest: dict[str, int] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {
            "up": self.up,
            "up_at": self.up_at,
            "delivered": self.delivered,
            "refused": self.refused,
            "bad_signature": self.bad_signature,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "events": dict(self.events),
            "distinct_bench_ids": len(self.seen),
        }


@dataclass
class Receiver:
    tally: Tally


RECEIVER: Final = web.AppKey("receiver", Receiver)
SECRET: Final = web.AppKey("secret", bytes)


def _ok(payload: Any = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload or {"ok": True}), content_type="application/json")


async def hook(request: web.Request) -> web.Response:
    tally = request.app[RECEIVER].tally
    body = await request.read()
    if not tally.up:
        tally.refused += 1
        return web.Response(status=503, headers={"Retry-After": "1"})
    expected = "sha256=" + hmac.new(request.app[SECRET], body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Webhook-Signature", "")):
        tally.bad_signature += 1
        return web.Response(status=401)
    now = time.monotonic()
    payload = orjson.loads(body)
    tally.delivered += 1
    tally.first_at = tally.first_at or now
    tally.last_at = now
    tally.events[str(payload.get("event"))] += 1
    data = payload.get("data")
    message_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(message_id, str) and message_id.startswith(ID_PREFIX):
        token = str(payload.get("token"))
        if message_id in tally.seen:
            tally.duplicates += 1
        else:
            tally.seen.add(message_id)
            seq = int(message_id[len(ID_PREFIX) :])
            if seq < tally.highest.get(token, -1):
                tally.out_of_order += 1
            tally.highest[token] = max(seq, tally.highest.get(token, -1))
    return web.Response(status=204)


async def set_up(request: web.Request) -> web.Response:
    tally = request.app[RECEIVER].tally
    tally.up, tally.up_at = True, time.monotonic()
    return _ok({"up_at": tally.up_at})


async def set_down(request: web.Request) -> web.Response:
    request.app[RECEIVER].tally.up = False
    return _ok()


async def reset(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    receiver.tally = Tally(up=receiver.tally.up)
    return _ok()


async def stats(request: web.Request) -> web.Response:
    return _ok(request.app[RECEIVER].tally.stats())


def create_app(secret: str, up: bool) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[RECEIVER] = Receiver(Tally(up=up))
    app[SECRET] = secret.encode()
    app.router.add_post("/hook", hook)
    app.router.add_post("/_up", set_up)
    app.router.add_post("/_down", set_down)
    app.router.add_post("/_reset", reset)
    app.router.add_get("/_stats", stats)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--down", action="store_true")
    args = parser.parse_args()
    app = create_app(args.secret, up=not args.down)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
