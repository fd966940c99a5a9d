"""``POST /messages``, ``POST /validate/phone``, ``DELETE /cache`` (docs/go-gateway.md §4)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok
from wa_gateway.messaging.fields import MAX_TEXT_CHARS, body_token, message_text, reply_to, sent
from wa_gateway.messaging.recipients import Recipients, with_mention_tags
from wa_gateway.phone import PhoneRules
from wa_gateway.route_table import RouteTable, route
from wa_gateway.ttlcache import TtlCache

ENGINE_REPLY_MARGIN_S: Final = 30.0
CHECK_TIMEOUT_S: Final = 30.0


class MessagingApi(RouteTable):
    def __init__(
        self,
        manager: DeviceManager,
        phones: PhoneRules,
        cache: TtlCache[dict[str, Any]],
        *,
        typing_delay_ms: int,
    ) -> None:
        self._manager = manager
        self._phones = phones
        self._recipients = Recipients(phones)
        self._cache = cache
        self._typing_ms = typing_delay_ms

    @route.post("/messages")
    async def send_text(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        # Text before recipient, as the Go gateway checks them.
        text = message_text(body.text("text"))
        to = self._recipients.text_to(body.text("to"))
        quoted = reply_to(body)
        mentions = self._recipients.mentions(body.optional("mentions", object))
        text = with_mention_tags(text, mentions)
        if len(text) > MAX_TEXT_CHARS:
            raise errors.ApiError(errors.MESSAGE_TOO_LONG)
        self._manager.require_connected(token)
        args: dict[str, Any] = {"token": token, "to": to, "text": text, "typing_ms": self._typing_ms}
        if quoted is not None:
            args["reply_to"] = quoted
        if mentions:
            args["mentions"] = mentions
        within = self._typing_ms / 1000 + ENGINE_REPLY_MARGIN_S
        result = await self._manager.engine.run(commands.SEND_TEXT, args, within=within)
        return ok(request, sent(result), "Message sent")

    @route.post("/validate/phone")
    async def validate_phone(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        phone = self._phones.normalise(body.text("phone"))
        if phone is None:
            raise errors.ApiError(errors.INVALID_PHONE)
        self._manager.require_connected(token)
        cached = self._cache.get(token, phone)
        if cached is not None:
            return ok(request, {**cached, "cached": True}, "Phone validation result (cached)")
        result = await self._manager.engine.call(
            c.CMD_CHECK_NUMBERS,
            {"token": token, "phones": [phone]},
            within=CHECK_TIMEOUT_S,
            failure=errors.VALIDATION_FAILED,
        )
        match = next((r for r in result.get("results", []) if r.get("phone") == phone), None)
        if match is None:
            raise errors.ApiError(errors.PHONE_NOT_FOUND)
        answer = {
            "phone": phone,
            "isOnWhatsApp": bool(match.get("isOnWhatsApp")),
            "jid": match.get("jid") or "",
        }
        self._cache.put(token, phone, answer)
        return ok(request, {**answer, "cached": False}, "Phone validation result")

    @route.delete("/cache")
    async def clear_cache(self, request: web.Request) -> web.Response:
        return ok(request, {"cleared": self._cache.clear()}, "Cache cleared")
