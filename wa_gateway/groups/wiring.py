"""What the application mounts for groups and channels: routes and OpenAPI specs (docs/groups.md,
docs/channels.md)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from aiohttp import web

from wa_gateway.backends.sandbox.control import groups_spec as sandbox_groups_spec
from wa_gateway.backends.sandbox.control.groups_api import SandboxGroupsApi
from wa_gateway.channels import openapi_spec as channels_spec
from wa_gateway.channels import sandbox_spec as sandbox_channels_spec
from wa_gateway.channels.api import ChannelsApi
from wa_gateway.channels.sandbox_api import SandboxChannelsApi
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.groups import openapi_spec
from wa_gateway.groups.api import GroupsApi
from wa_gateway.phone import PhoneRules


def group_routes(
    manager: DeviceManager, phones: PhoneRules, outgoing_dir: Path, *, sandbox: bool
) -> list[web.RouteDef]:
    routes = GroupsApi(manager, phones, outgoing_dir).routes() + ChannelsApi(manager).routes()
    if sandbox:
        routes += SandboxGroupsApi(manager, phones).routes() + SandboxChannelsApi(manager, phones).routes()
    return routes


def group_specs(*, sandbox: bool) -> list[ModuleType]:
    specs = [openapi_spec, channels_spec]
    return [*specs, sandbox_groups_spec, sandbox_channels_spec] if sandbox else specs
