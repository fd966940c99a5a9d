"""Presence in the sandbox: which contacts a device subscribed to, and the control operation that plays
a contact going online, offline, or typing (docs/presence.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wa_gateway.backends.sandbox.args import (
    GROUP_SERVER,
    USER_SERVER,
    arg_phone,
    check_jid,
    optional_text,
    optional_time,
)
from wa_gateway.backends.sandbox.device import SandboxHost
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


class SandboxPresence:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host
        self._subscribed: dict[str, set[str]] = {}

    def operations(self) -> dict[str, ControlOp]:
        return {"presence": self.presence}

    def forget(self, token: str) -> None:
        """WhatsApp keeps presence subscriptions per connection: a new connection starts with none."""
        self._subscribed.pop(token, None)

    @handles(c.CMD_SUBSCRIBE_PRESENCE)
    async def subscribe(self, token: str, to: str) -> None:
        self._host.connected(token)
        check_jid(to, "to")
        if to.endswith(GROUP_SERVER):
            raise checks.invalid("to must be a contact, not a group")
        self._subscribed.setdefault(token, set()).add(to)

    async def presence(self, args: dict[str, Any]) -> dict[str, Any]:
        """A contact's presence; online/offline reaches only devices subscribed to that contact."""
        device = await self._host.connected_for_control(args)
        sender = arg_phone(args, "from") + USER_SERVER
        state = args.get("state")
        if state not in c.PRESENCE_STATES:
            raise checks.invalid(f"state must be one of {', '.join(c.PRESENCE_STATES)}")
        chat = optional_text(args, "chat") or None
        last_seen = _last_seen(args)
        if state in c.CHAT_PRESENCE_STATES:
            if last_seen is not None:
                raise checks.invalid("lastSeen goes with unavailable only")
            if chat is None:
                chat = sender
            elif not chat.endswith(GROUP_SERVER):
                chat = arg_phone(args, "chat") + USER_SERVER
            else:
                check_jid(chat, "chat")
        else:
            if chat is not None:
                raise checks.invalid(f"{state} is the contact's own presence: chat must be omitted")
            if last_seen is not None and state != "unavailable":
                raise checks.invalid("lastSeen goes with unavailable only")
            if sender not in self._subscribed.get(device.token, ()):
                return {"delivered": False}
        update: c.PresenceUpdate = {
            "from": sender,
            "state": state,
            "lastSeen": last_seen,
            "chat": chat,
            "timestamp": self._host.clock.time(),
        }
        self._host.emit(device.token, c.EV_PRESENCE, dict(update))
        return {"delivered": True}


def _last_seen(args: dict[str, Any]) -> float | None:
    return optional_time(args, "lastSeen")
