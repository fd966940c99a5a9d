"""``POST /sandbox/devices/{token}/status``: a contact posts a text status (sandbox only)."""

from __future__ import annotations

from wa_gateway.backends.sandbox.control.devices_api import SandboxApi, relayed


class SandboxStatusApi(SandboxApi):
    status = relayed("status", "status", "Status delivered to the device")
