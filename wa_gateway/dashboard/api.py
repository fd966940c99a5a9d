"""Serves the dashboard's three files from the package, with a strict Content-Security-Policy.

The page itself is public (it holds no data); it asks for the API key and keeps it in the browser's
session storage, sending it only in headers and the WebSocket's first message, never in a URL.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Final

from aiohttp import web

ASSETS: Final = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "app.css": "text/css",
}
# No external requests: the gateway often runs on a private network, and the page must not leak the key.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self' ws: wss:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC_ROUTES: Final = frozenset({"/", "/dashboard", "/dashboard/{asset}"})


def _read_assets() -> dict[str, bytes]:
    folder = resources.files(__package__).joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in ASSETS}


class DashboardApi:
    def __init__(self) -> None:
        self._assets: dict[str, bytes] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.root),
            web.get("/dashboard", self.page),
            web.get("/dashboard/{asset}", self.asset),
        ]

    async def load(self) -> None:
        """Read the files once, off the event loop (called from the app's startup)."""
        self._assets = await asyncio.to_thread(_read_assets)

    def _serve(self, name: str) -> web.Response:
        body = self._assets.get(name)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=body,
            content_type=ASSETS[name],
            charset="utf-8",
            headers={
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )

    async def root(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    async def page(self, request: web.Request) -> web.Response:
        return self._serve("index.html")

    async def asset(self, request: web.Request) -> web.Response:
        return self._serve(request.match_info["asset"])
