"""A few small files shipped in the package (dashboard, docs), read once off the loop, served with headers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources

from aiohttp import web

from wa_gateway.route_table import RouteTable, route


class StaticFiles:
    def __init__(self, package: str, assets: Mapping[str, str], csp: str) -> None:
        self._package = package
        self._types = dict(assets)
        self._csp = csp
        self._bodies: dict[str, bytes] = {}

    def _read(self) -> dict[str, bytes]:
        folder = resources.files(self._package).joinpath("static")
        return {name: folder.joinpath(name).read_bytes() for name in self._types}

    async def load(self) -> None:
        self._bodies = await asyncio.to_thread(self._read)

    def response(self, name: str) -> web.Response:
        body = self._bodies.get(name)
        if body is None:
            raise web.HTTPNotFound()
        content_type = self._types[name]
        return web.Response(
            body=body,
            content_type=content_type,
            charset="utf-8" if content_type.startswith("text/") else None,
            headers={
                "Content-Security-Policy": self._csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )


class StaticPages(RouteTable):
    """Routes that answer files of the package; ``load`` reads them once, at start-up."""

    def __init__(self, package: str, assets: Mapping[str, str], csp: str) -> None:
        self.files = StaticFiles(package, assets, csp)

    async def load(self) -> None:
        await self.files.load()


def static_file(
    path: str, name: str | None = None
) -> Callable[[StaticPages, web.Request], Awaitable[web.Response]]:
    """``GET path``: the file ``name``, or without it the file the path's ``{asset}`` names."""

    async def serve(pages: StaticPages, request: web.Request) -> web.Response:
        return pages.files.response(name if name is not None else request.match_info["asset"])

    return route.get(path)(serve)
