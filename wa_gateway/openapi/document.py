"""Assembles the OpenAPI 3.1 document and serves it (``/openapi.json``) with a docs page (``/docs``)."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any, Final

from aiohttp import web

from wa_gateway import __version__
from wa_gateway.envelope import dumps
from wa_gateway.events.model import INTERNAL, WEBHOOK, EventType
from wa_gateway.idempotency.middleware import SENDING_ROUTES
from wa_gateway.openapi import webhooks as webhook_spec
from wa_gateway.openapi.builders import components
from wa_gateway.route_table import RouteTable, route
from wa_gateway.static_files import StaticFiles

DESCRIPTION: Final = """\
Self-hosted WhatsApp gateway. Every JSON response uses the envelope
`{success, data?, message?, error?{code,message}, meta{timestamp, requestId}}`.
Authenticate with `Authorization: Bearer <API_KEY>` or `X-API-Key: <API_KEY>`.
"""
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
IDEMPOTENCY_KEY_PARAM: Final = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "1-255 printable characters. A repeat of the same request within 24 h gets the first 2xx answer "
        "again (header `Idempotent-Replayed: true`) and sends nothing; another body with the same key is "
        "422 IDEMPOTENCY_KEY_REUSED; a repeat while the first runs is 409 IDEMPOTENCY_IN_PROGRESS. "
        "The message goes out under a WhatsApp id derived from the key, so a retry after "
        "503 SEND_OUTCOME_UNKNOWN is the same message (sandbox; not with neonize 0.5.2)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
PUBLIC_ROUTES: Final = frozenset({"/openapi.json", "/docs", "/docs/{asset}"})
DOCS_ASSETS: Final = {
    "docs.html": "text/html",
    "docs.js": "text/javascript",
    "docs.css": "text/css",
    # Swagger UI from the npm package swagger-ui-dist, unchanged (docs/api-docs.md).
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "swagger-ui-LICENSE.txt": "text/plain",
}


def build_document(spec_modules: Iterable[ModuleType], events: Iterable[EventType]) -> dict[str, Any]:
    """``events``: every event the gateway emits; webhook events become ``webhooks``, and every event's
    WebSocket frame a ``WsFrame.<name>`` schema."""
    events = list(events)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for module in spec_modules:
        for path, operations in module.PATHS.items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(module.SCHEMAS)
    for method, path in SENDING_ROUTES:
        op = paths.get(path, {}).get(method.lower())
        if op is not None:
            # A copy: the spec modules' operations are shared by every document built.
            paths[path][method.lower()] = {
                **op,
                "parameters": [*op.get("parameters", []), IDEMPOTENCY_KEY_PARAM],
                "responses": {"422": {"$ref": "#/components/responses/Error422"}, **op["responses"]},
            }
    schemas.update(webhook_spec.websocket_frames(t for t in events if t.kind != INTERNAL))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "wa-gateway", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        # Either scheme works; Bearer is listed in the description, not here, because a fuzzer that
        # fills in both would send a bad Bearer, which wins over X-API-Key (the Go gateway's rule).
        "security": [{"ApiKeyHeader": []}],
        "paths": dict(sorted(paths.items())),
        "webhooks": webhook_spec.webhooks(t for t in events if t.kind == WEBHOOK),
        "components": components(schemas),
    }
    return document


class OpenApiRoutes(RouteTable):
    def __init__(self, document: dict[str, Any]) -> None:
        self._body = dumps(document)
        self._files = StaticFiles(__package__ or "wa_gateway.openapi", DOCS_ASSETS, DOCS_CSP)

    async def load(self) -> None:
        await self._files.load()

    @route.get("/openapi.json")
    async def document(self, request: web.Request) -> web.Response:
        return web.Response(body=self._body, content_type="application/json")

    @route.get("/docs")
    async def docs(self, request: web.Request) -> web.Response:
        return self._files.response("docs.html")

    @route.get("/docs/{asset}")
    async def asset(self, request: web.Request) -> web.Response:
        return self._files.response(request.match_info["asset"])
