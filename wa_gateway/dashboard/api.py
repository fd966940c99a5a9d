"""Serves the dashboard's files from the package, with a strict Content-Security-Policy.

The page itself is public (it holds no data); it asks for the API key and keeps it in the browser's
session storage, sending it only in headers and the WebSocket's first message, never in a URL.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from wa_gateway.route_table import RouteTable, route
from wa_gateway.static_files import StaticFiles

ASSETS: Final = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "core.js": "text/javascript",
    "devices.js": "text/javascript",
    "chats.js": "text/javascript",
    "channels.js": "text/javascript",
    "outbox.js": "text/javascript",
    "keys.js": "text/javascript",
    "app.css": "text/css",
    "favicon.ico": "image/x-icon",
}
# No external requests: the gateway often runs on a private network, and the page must not leak the key.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self' ws: wss:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
# Browsers fetch /favicon.ico on their own, without the key; it must never answer 401.
PUBLIC_ROUTES: Final = frozenset({"/", "/dashboard", "/dashboard/{asset}", "/favicon.ico"})


class DashboardApi(RouteTable):
    def __init__(self) -> None:
        self._files = StaticFiles(__package__ or "wa_gateway.dashboard", ASSETS, CSP)

    async def load(self) -> None:
        """Read the files once, off the event loop (called from the app's startup)."""
        await self._files.load()

    @route.get("/")
    async def root(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    @route.get("/dashboard")
    async def page(self, request: web.Request) -> web.Response:
        return self._files.response("index.html")

    @route.get("/dashboard/{asset}")
    async def asset(self, request: web.Request) -> web.Response:
        return self._files.response(request.match_info["asset"])

    @route.get("/favicon.ico")
    async def favicon(self, request: web.Request) -> web.Response:
        return self._files.response("favicon.ico")
