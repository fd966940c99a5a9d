"""Serves the dashboard's files from the package, with a strict Content-Security-Policy.

The page itself is public (it holds no data); it asks for the API key and keeps it in the browser's
session storage, sending it only in headers and the WebSocket's first message, never in a URL.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from wa_gateway.route_table import route
from wa_gateway.static_files import StaticPages, static_file

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


class DashboardApi(StaticPages):
    def __init__(self) -> None:
        super().__init__(__package__ or "wa_gateway.dashboard", ASSETS, CSP)

    @route.get("/")
    async def root(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    page = static_file("/dashboard", "index.html")
    asset = static_file("/dashboard/{asset}")
    favicon = static_file("/favicon.ico", "favicon.ico")
