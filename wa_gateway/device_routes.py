"""The bases of route classes that act through a device, and of those that also read recipients."""

from __future__ import annotations

from wa_gateway.devices.manager import DeviceManager
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable


class DeviceRoutes(RouteTable):
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager


class RecipientRoutes(DeviceRoutes):
    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        super().__init__(manager)
        self._recipients = Recipients(phones)
