"""Acting on existing messages: react, edit, revoke for everyone, mark read."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import Body, parse_json_object, read_body, read_raw
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok, utc_timestamp
from wa_gateway.messaging.emoji import is_single_emoji
from wa_gateway.messaging.fields import body_token, message_id, message_ids, message_text
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules

ACTION_TIMEOUT_S: Final = 30.0


async def query_or_body(request: web.Request) -> Body:
    """``DELETE`` takes its fields from the query string or a JSON body; the query wins."""
    fields: dict[str, Any] = {}
    if request.body_exists:
        fields.update(parse_json_object(await read_raw(request), allow_empty=True))
    fields.update(request.query)
    return Body(fields)


class MessageActionsApi:
    """The engine link fills in what the message store knows of the message acted on (its author, the
    engine's reference), so these work after a restart and beyond the engine's cache
    (messages/recorder.py, docs/messages.md "Acting on stored messages")."""

    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/messages/read", self.mark_read),
            web.post("/messages/{id}/reaction", self.react),
            web.patch("/messages/{id}", self.edit),
            web.delete("/messages/{id}", self.revoke),
        ]

    async def _action(self, cmd: str, args: dict[str, Any], *, sends: bool = True) -> Any:
        return await self._manager.engine.call(
            cmd,
            args,
            within=ACTION_TIMEOUT_S,
            failure=errors.ACTION_FAILED,
            sends=sends,
        )

    async def react(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        target = message_id(request.match_info["id"])
        chat = self._recipients.required_chat(body.text("chat"))
        emoji = body.optional("emoji", str)
        if emoji is None or (emoji != "" and not is_single_emoji(emoji)):
            raise errors.ApiError(errors.INVALID_EMOJI)
        self._manager.require_connected(token)
        args = {"token": token, "chat": chat, "message_id": target, "emoji": emoji}
        result = await self._action(c.CMD_REACT, args)
        data = {"messageId": target, "emoji": emoji, "timestamp": _when(result)}
        return ok(request, data, "Reaction removed" if emoji == "" else "Reaction sent")

    async def edit(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        target = message_id(request.match_info["id"])
        text = message_text(body.text("text"))
        chat = self._recipients.required_chat(body.text("chat"))
        self._manager.require_connected(token)
        args = {"token": token, "chat": chat, "message_id": target, "text": text}
        result = await self._action(c.CMD_EDIT, args)
        return ok(request, {"messageId": target, "timestamp": _when(result)}, "Message edited")

    async def revoke(self, request: web.Request) -> web.Response:
        body = await query_or_body(request)
        token = body_token(body)
        target = message_id(request.match_info["id"])
        chat = self._recipients.required_chat(body.text("chat"))
        self._manager.require_connected(token)
        result = await self._action(c.CMD_REVOKE, {"token": token, "chat": chat, "message_id": target})
        return ok(request, {"messageId": target, "timestamp": _when(result)}, "Message deleted for everyone")

    async def mark_read(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        chat = self._recipients.required_chat(body.text("chat"))
        ids = message_ids(body.optional("messageIds", object))
        raw_sender = body.text("sender")
        sender = self._recipients.user(raw_sender) if raw_sender else None
        if raw_sender and sender is None:
            raise errors.ApiError(errors.INVALID_SENDER)
        self._manager.require_connected(token)
        await self._action(
            c.CMD_MARK_READ, {"token": token, "chat": chat, "sender": sender, "ids": ids}, sends=False
        )
        return ok(request, {"chat": chat, "messageIds": ids}, "Messages marked as read")


def _when(result: Any) -> str:
    stamp = result.get("timestamp") if isinstance(result, dict) else None
    return utc_timestamp(float(stamp)) if isinstance(stamp, int | float) else utc_timestamp()
