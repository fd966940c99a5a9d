"""Every ``web.AppKey`` of the gateway, at module level (aiohttp names keys after their module)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from wa_gateway.ws.hub import WsHub

if TYPE_CHECKING:
    from wa_gateway.db.postgres import PostgresDatabase
    from wa_gateway.engine.supervisor import EngineSupervisor

HUB_KEY = web.AppKey("hub", WsHub)
ENGINE_KEY: web.AppKey[EngineSupervisor] = web.AppKey("engine")
# None when DATABASE_URL is unset (sqlite in DATA_DIR).
DATABASE_KEY: web.AppKey[PostgresDatabase | None] = web.AppKey("database")
