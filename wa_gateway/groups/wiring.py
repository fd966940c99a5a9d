"""What the application mounts for groups: the routes, their OpenAPI specs (docs/groups.md)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from aiohttp import web

from wa_gateway.backends.sandbox.control import groups_spec as sandbox_groups_spec
from wa_gateway.backends.sandbox.control.groups_api import SandboxGroupsApi
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.groups import openapi_spec
from wa_gateway.groups.api import GroupsApi
from wa_gateway.groups.events import GroupEvents as GroupEvents
from wa_gateway.phone import PhoneRules


def group_routes(
    manager: DeviceManager, phones: PhoneRules, outgoing_dir: Path, *, sandbox: bool
) -> list[web.RouteDef]:
    routes = GroupsApi(manager, phones, outgoing_dir).routes()
    return routes + (SandboxGroupsApi(manager, phones).routes() if sandbox else [])


def group_specs(*, sandbox: bool) -> list[ModuleType]:
    return [openapi_spec, sandbox_groups_spec] if sandbox else [openapi_spec]
