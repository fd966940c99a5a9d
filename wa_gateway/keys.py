"""Every ``web.AppKey`` of the gateway, at module level (aiohttp names keys after their module)."""

from __future__ import annotations

from aiohttp import web

from .clock import Clock
from .config import Settings
from .ratelimit import FixedWindowLimiter
from .ws.hub import WsHub

SETTINGS_KEY = web.AppKey("settings", Settings)
CLOCK_KEY = web.AppKey("clock", Clock)
HUB_KEY = web.AppKey("hub", WsHub)
AUTH_FAILURES_KEY = web.AppKey("auth_failures", FixedWindowLimiter)
