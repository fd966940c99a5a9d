"""A recording webhook receiver and polling helpers for the webhook tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from wa_gateway.clock import ManualClock

# Each request takes the next mode from Receiver.script, or Receiver.default_mode when it is empty.
MODE_OK = "ok"
MODE_500 = "500"
MODE_410 = "410"
MODE_404 = "404"
MODE_408 = "408"
MODE_429 = "429"  # with Retry-After: Receiver.retry_after
MODE_REDIRECT = "redirect"
MODE_SLOW = "slow"  # holds the request until Receiver.release is set (or the client gives up)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    mode: str

    @property
    def payload(self) -> dict[str, Any]:
        value = orjson.loads(self.body)
        assert isinstance(value, dict)
        return value

    @property
    def id(self) -> str:
        return str(self.payload["id"])


@dataclass
class Receiver:
    script: list[str] = field(default_factory=list)
    default_mode: str = MODE_OK
    retry_after: str = "120"
    latency_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    redirect_hits: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        app.router.add_route("*", "/elsewhere", self._elsewhere)
        return app

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if r.mode == MODE_OK]

    def delivered_ids(self, token: str | None = None) -> list[str]:
        return [r.id for r in self.delivered() if token is None or r.payload["token"] == token]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        mode = self.script.pop(0) if self.script else self.default_mode
        self.requests.append(Received(request.path, dict(request.headers), body, mode))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)  # simulated network/processing latency of the receiver
            return await self._answer(mode)
        finally:
            self.in_flight -= 1

    async def _answer(self, mode: str) -> web.StreamResponse:
        if mode == MODE_OK:
            return web.Response(status=200, text="thanks")
        if mode in (MODE_500, MODE_410, MODE_404, MODE_408):
            return web.Response(status=int(mode))
        if mode == MODE_429:
            return web.Response(status=429, headers={"Retry-After": self.retry_after})
        if mode == MODE_REDIRECT:
            raise web.HTTPFound("/elsewhere")
        if mode == MODE_SLOW:
            await asyncio.wait_for(self.release.wait(), 30)
            return web.Response(status=200)
        raise AssertionError(f"unknown receiver mode {mode!r}")

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.redirect_hits += 1
        return web.Response(status=200)


Predicate = Callable[[], bool | Awaitable[bool]]


async def _check(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def eventually(predicate: Predicate, within_s: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds, failing the test after ``within_s`` real seconds."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await _check(predicate):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def drive(
    clock: ManualClock,
    predicate: Predicate,
    step: float = 601.0,
    within_s: float = 15.0,
    what: str = "condition",
) -> None:
    """Move the manual clock forward in ``step``s (past any backoff) until ``predicate`` holds."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await _check(predicate):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out driving the clock until {what}")
        clock.advance(step)
        await asyncio.sleep(0.005)


async def settle(rounds: int = 20) -> None:
    """Let already-runnable callbacks (and a few real loop turns) run, for asserting that nothing happens."""
    for _ in range(rounds):
        await asyncio.sleep(0.005)
