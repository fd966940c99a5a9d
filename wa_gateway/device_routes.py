"""The base of route classes that act through a device and read recipients the API's way."""

from __future__ import annotations

from wa_gateway.devices.manager import DeviceManager
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable


class DeviceRoutes(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)
