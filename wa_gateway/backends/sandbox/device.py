"""A simulated client of the sandbox engine, and what the sandbox's parts share about devices."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from wa_gateway.backends.sandbox.store import SandboxStore
from wa_gateway.clock import Clock
from wa_gateway.worker.liveness import Liveness
from wa_gateway.worker.message_cache import CachedMessage, MessageCaches

DeviceStatus = Literal["pairing", "connected", "reconnecting", "stopped"]


@dataclass(eq=False)
class SandboxDevice:
    """A simulated client: exists from connect until disconnect, logout or an expired pairing."""

    token: str
    status: DeviceStatus
    jid: str = ""
    push_name: str = ""
    # The pairing flow (QR refresh / code expiry) or the pending automatic reconnect.
    timer: asyncio.Task[None] | None = None
    # asyncio.Lock wakes waiters in FIFO order: sends on one device go out in request order.
    sends: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set while the session is stalled (POST /sandbox/devices/{token}/stall): connected, but mute.
    stall: Liveness | None = None
    # While reconnecting: why the connection was lost, and when (Unix seconds) it is tried again.
    last_error: str | None = None
    next_attempt_at: float | None = None


class SandboxHost(Protocol):
    """What the sandbox backend lends the parts that send and that play the other side."""

    store: SandboxStore
    clock: Clock
    caches: MessageCaches
    data_dir: Path

    def emit(self, token: str, event: str, data: dict[str, Any]) -> None: ...

    def connected(self, token: str) -> SandboxDevice:
        """The device, connected; E_DEVICE_NOT_CONNECTED otherwise."""
        ...

    def require_still_connected(self, device: SandboxDevice) -> None: ...

    async def require_channel_admin(self, token: str, channel: str) -> None:
        """E_NOT_CHANNEL_ADMIN unless the device owns or administers the channel."""
        ...

    async def publish_channel_post(self, token: str, message: CachedMessage) -> None:
        """The device's message to its channel (``message.chat``) becomes a post its followers receive."""
        ...

    async def connected_for_control(self, args: dict[str, Any]) -> SandboxDevice:
        """The device named by ``args["token"]``: E_DEVICE_NOT_FOUND, E_DEVICE_NOT_CONNECTED otherwise."""
        ...
