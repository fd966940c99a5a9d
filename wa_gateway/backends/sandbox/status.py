"""Status posts in the sandbox: what a device posts lands in its sent log addressed to ``status@broadcast``,
and a control operation plays a contact posting one (docs/status.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from wa_gateway.backends.sandbox.args import USER_SERVER, arg_phone, arg_text, optional_text
from wa_gateway.backends.sandbox.device import SandboxHost
from wa_gateway.backends.sandbox.ids import message_id
from wa_gateway.backends.sandbox.messaging import SandboxMessaging
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


class SandboxStatus:
    def __init__(self, host: SandboxHost, messaging: SandboxMessaging) -> None:
        self._host = host
        self._messaging = messaging

    def operations(self) -> dict[str, ControlOp]:
        return {"status": self.incoming}

    @handles(c.CMD_POST_STATUS)
    async def post(
        self, token: str, text: str, background_argb: int | None, font: int | None
    ) -> dict[str, Any]:
        device = self._host.connected(token)
        checks.check_status(text, background_argb, font)
        details = {"kind": "status", "backgroundArgb": background_argb, "font": font}
        # No typing simulation: nobody watches a status being typed.
        sent = await self._messaging.record(device, c.STATUS_CHAT, text, details)
        return {"id": sent.id, "timestamp": sent.timestamp}

    @handles(c.CMD_POST_STATUS_MEDIA)
    async def post_media(self, token: str, media: c.OutgoingMedia) -> dict[str, Any]:
        device = self._host.connected(token)
        if media.kind not in c.STATUS_MEDIA_KINDS:
            raise checks.invalid("a status is text, an image or a video")
        caption = checks.media_caption(media.kind, media.mimetype, media.caption)
        file = await asyncio.to_thread(checks.read_outgoing_media, self._host.data_dir, media.path)
        details = {
            "kind": media.kind,
            "mimetype": media.mimetype,
            "caption": caption,
            "size": len(file.data),
            "sha256": file.sha256,
        }
        sent = await self._messaging.record(device, c.STATUS_CHAT, caption or "", details)
        return {"id": sent.id, "timestamp": sent.timestamp}

    async def incoming(self, args: dict[str, Any]) -> dict[str, Any]:
        """A contact's text status: a message in the ``status@broadcast`` chat, as WhatsApp sends it."""
        device = await self._host.connected_for_control(args)
        phone = arg_phone(args, "from")
        text = arg_text(args, "text")
        message: c.IncomingMessage = {
            "id": optional_text(args, "id") or message_id(),
            "from": phone + USER_SERVER,
            "chat": c.STATUS_CHAT,
            "pushName": optional_text(args, "pushName") or "",
            "text": text,
            "type": "text",
            "timestamp": self._host.clock.time(),
            "isGroup": False,
            "fromMe": False,
            "senderPhone": phone,
            "caption": None,
            "media": None,
            "replyTo": None,
            "mentions": [],
            "ref": "",  # status posts are not stored (docs/messages.md)
        }
        self._host.emit(device.token, c.EV_MESSAGE, dict(message))
        return {"id": message["id"]}
