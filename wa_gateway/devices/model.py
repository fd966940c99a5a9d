"""A device's state as the gateway sees it, and the engine link it is driven through."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from wa_gateway import vocabulary as v
from wa_gateway.envelope import utc_timestamp

Status = v.DeviceStatus
STATUSES: Final = v.DEVICE_STATUSES
LIVE: Final = v.LIVE_STATUSES


class EngineLink(Protocol):
    """The gateway's side of the engine contract (``EngineSupervisor`` implements it)."""

    # The timeout travels with the request to the worker, so it is a parameter here.
    async def request(
        self,
        cmd: str,
        args: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any: ...


@dataclass(eq=False)
class Device:
    token: str
    status: Status = "disconnected"
    jid: str | None = None
    push_name: str | None = None
    connected_at: float | None = None
    qr: str | None = None
    pairing_code: str | None = None
    method: str | None = None
    last_error: str | None = None
    ban_expires: float | None = None
    # Operations on one device (connect, delete, restore) never interleave.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set whenever a pairing code arrives, so POST /devices can return it.
    code_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def summary(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "status": self.status,
            "jid": self.jid,
            "pushName": self.push_name,
            "connectedAt": utc_timestamp(self.connected_at) if self.connected_at else None,
        }

    def detail(self) -> dict[str, Any]:
        out = self.summary()
        out["qr"] = self.qr if self.status == "pairing" else None
        out["pairingCode"] = self.pairing_code if self.status == "pairing" else None
        # ``code`` is the name the POST answer and the pairing-code event use (docs/dropin.md).
        out["code"] = out["pairingCode"]
        out["lastError"] = self.last_error
        out["banExpires"] = utc_timestamp(self.ban_expires) if self.ban_expires else None
        return out
