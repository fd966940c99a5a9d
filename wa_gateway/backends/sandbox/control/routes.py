"""Every ``/sandbox/...`` control route, mounted only when WA_ENGINE=sandbox."""

from __future__ import annotations

from aiohttp import web

from wa_gateway.backends.sandbox.control.devices_api import SandboxApi
from wa_gateway.backends.sandbox.control.messaging_api import SandboxMessagingApi
from wa_gateway.backends.sandbox.control.presence_api import SandboxPresenceApi
from wa_gateway.backends.sandbox.control.status_api import SandboxStatusApi
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.phone import PhoneRules


def sandbox_routes(manager: DeviceManager, phones: PhoneRules) -> list[web.RouteDef]:
    apis = (SandboxApi, SandboxMessagingApi, SandboxPresenceApi, SandboxStatusApi)
    return [route for api in apis for route in api(manager, phones).routes()]
