"""Every ``web.AppKey`` of the gateway, at module level (aiohttp names keys after their module)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .clock import Clock
from .config import Settings
from .ratelimit import FixedWindowLimiter
from .ws.hub import WsHub

if TYPE_CHECKING:
    from .devices.manager import DeviceManager
    from .engine.supervisor import EngineSupervisor

SETTINGS_KEY = web.AppKey("settings", Settings)
CLOCK_KEY = web.AppKey("clock", Clock)
HUB_KEY = web.AppKey("hub", WsHub)
AUTH_FAILURES_KEY = web.AppKey("auth_failures", FixedWindowLimiter)
DEVICES_KEY: web.AppKey[DeviceManager] = web.AppKey("devices")
ENGINE_KEY: web.AppKey[EngineSupervisor] = web.AppKey("engine")
