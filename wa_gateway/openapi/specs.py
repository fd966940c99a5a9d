"""Which spec modules make up ``/openapi.json`` for a given configuration: the routes that are mounted."""

from __future__ import annotations

from types import ModuleType

from wa_gateway.backends.sandbox.control import messaging_spec as sandbox_messaging_spec
from wa_gateway.backends.sandbox.control import presence_spec as sandbox_presence_spec
from wa_gateway.backends.sandbox.control import status_spec as sandbox_status_spec
from wa_gateway.groups.wiring import group_specs
from wa_gateway.messages import openapi_spec as stored_messages_spec
from wa_gateway.messaging import openapi_spec as messaging_extra_spec
from wa_gateway.openapi import contacts as contacts_spec
from wa_gateway.openapi import dashboard as dashboard_spec
from wa_gateway.openapi import device_webhooks as device_webhooks_spec
from wa_gateway.openapi import devices as devices_spec
from wa_gateway.openapi import keys as keys_spec
from wa_gateway.openapi import messaging as messaging_spec
from wa_gateway.openapi import sandbox as sandbox_spec
from wa_gateway.openapi import system as system_spec
from wa_gateway.openapi import webhooks as webhooks_spec
from wa_gateway.presence import openapi_spec as presence_spec
from wa_gateway.status import openapi_spec as status_spec


def mounted_specs(
    *, sandbox: bool, webhooks: bool, dashboard: bool, extra: list[ModuleType]
) -> list[ModuleType]:
    specs = [system_spec, devices_spec, messaging_spec, messaging_extra_spec, contacts_spec]
    specs.extend([presence_spec, *group_specs(sandbox=sandbox), status_spec, stored_messages_spec])
    specs.extend([keys_spec, device_webhooks_spec])
    if webhooks:
        specs.append(webhooks_spec)
    specs.extend(extra)
    if sandbox:
        specs.extend([sandbox_spec, sandbox_messaging_spec, sandbox_presence_spec, sandbox_status_spec])
    if dashboard:
        specs.append(dashboard_spec)
    return specs
