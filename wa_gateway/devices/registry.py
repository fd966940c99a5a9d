"""The devices the gateway knows, by token: their state and, in each ``Device``, the lock that keeps
one device's operations from interleaving."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wa_gateway import errors
from wa_gateway.devices.model import Device
from wa_gateway.events import catalog as ev
from wa_gateway.events.model import Event


class DeviceRegistry:
    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}

    def __contains__(self, token: object) -> bool:
        return token in self._devices

    def is_known(self, token: str) -> bool:
        return token in self._devices

    def get(self, token: str) -> Device | None:
        return self._devices.get(token)

    def add(self, token: str) -> Device:
        """The device of ``token``, a new disconnected one if it was not known."""
        return self._devices.setdefault(token, Device(token))

    def remove(self, token: str) -> None:
        self._devices.pop(token, None)

    def all(self) -> list[Device]:
        return list(self._devices.values())

    def require(self, token: str) -> Device:
        device = self._devices.get(token)
        if device is None:
            raise errors.ApiError(errors.DEVICE_NOT_FOUND)
        return device

    def require_connected(self, token: str) -> Device:
        device = self.require(token)
        if device.status != "connected":
            raise errors.ApiError(errors.DEVICE_NOT_CONNECTED)
        return device

    def summaries(self) -> list[dict[str, Any]]:
        return [d.summary() for d in sorted(self._devices.values(), key=lambda d: d.token)]

    def replay(self) -> Iterable[Event]:
        """What a WebSocket client that authenticates now must see at once: codes of pairing devices."""
        for device in self.all():
            if device.status != "pairing":
                continue
            if device.qr:
                yield ev.QRCODE(device.token, device.qr)
            if device.pairing_code:
                yield ev.PAIRING_CODE(device.token, {"code": device.pairing_code})
