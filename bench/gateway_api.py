"""Setting the gateway up for a measurement through its own HTTP API (devices, sandbox, health)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar

import aiohttp

from bench.procs import AUTH

_T = TypeVar("_T")
LINK_CONCURRENCY: Final = 8
_POLL_S: Final = 0.02


class SetupError(RuntimeError):
    pass


class GatewayApi:
    """A client of one gateway, used only for set-up and checks, never for the measured load."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = aiohttp.ClientSession(
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=120),
            connector=aiohttp.TCPConnector(limit=64),
        )

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> GatewayApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self._session.request(method, self.url + path, json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.call(method, path, body)
        if status != 200:
            raise SetupError(f"{method} {path} answered {status}: {answer}")
        return answer.get("data")

    async def device_status(self, token: str) -> str | None:
        status, answer = await self.call("GET", f"/devices/{token}")
        return str(answer["data"]["status"]) if status == 200 else None

    async def link(self, token: str, push_name: str = "Bench") -> None:
        """Pair ``token`` through the sandbox and wait until the gateway reports it connected."""
        await self.ok("POST", "/devices", {"token": token, "method": "qr"})
        await self.ok("POST", f"/sandbox/devices/{token}/link", {"pushName": push_name})

        async def connected() -> bool:
            return await self.device_status(token) == "connected"

        await wait_for(connected, 15.0, f"device {token} connected")

    async def link_many(self, tokens: Iterable[str], concurrency: int = LINK_CONCURRENCY) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(token: str) -> None:
            async with gate:
                await self.link(token)

        await asyncio.gather(*(one(token) for token in tokens))

    async def worker_pid(self) -> int:
        data = await self.ok("GET", "/health/detailed")
        pid = (data.get("worker") or {}).get("pid")
        if not isinstance(pid, int):
            raise SetupError(f"no engine worker pid in /health/detailed: {data.get('worker')}")
        return pid

    async def contacts_total(self, token: str) -> int:
        data = await self.ok("GET", f"/contacts/{token}?limit=1")
        return int(data["total"])


async def wait_for(check: Callable[[], Awaitable[_T]], within: float, what: str) -> _T:
    """Poll ``check`` until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SetupError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(_POLL_S)


def tokens(count: int, prefix: str = "6012") -> list[str]:
    """Distinct device tokens (11 digits, a valid phone length for the default rules)."""
    return [f"{prefix}{index:07d}" for index in range(1, count + 1)]
