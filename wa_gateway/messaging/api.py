"""``POST /messages``, ``POST /validate/phone``, ``DELETE /cache`` (Go behaviour §6.5-§6.8)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from .. import errors
from ..body import Body, read_body
from ..devices.engine_calls import call_engine
from ..devices.manager import DeviceManager
from ..engine import contract as c
from ..envelope import ok, utc_timestamp
from ..phone import PhoneRules, is_blank, is_valid_token, user_jid
from ..ttlcache import TtlCache

# WhatsApp rejects longer texts; failing early gives a clear error instead of an engine failure.
MAX_TEXT_CHARS: Final = 65536
ENGINE_REPLY_MARGIN_S: Final = 30.0
CHECK_TIMEOUT_S: Final = 30.0


def _token(body: Body) -> str:
    token = body.text("token")
    if not token:
        raise errors.ApiError(errors.MISSING_TOKEN)
    if not is_valid_token(token):
        raise errors.ApiError(errors.INVALID_TOKEN)
    return token


class MessagingApi:
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
        self._cache = cache
        self._typing_ms = typing_delay_ms

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/messages", self.send_text),
            web.post("/validate/phone", self.validate_phone),
            web.delete("/cache", self.clear_cache),
        ]

    async def send_text(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = _token(body)
        text = body.text("text")
        to = body.text("to")
        # Text before recipient, as the Go gateway checks them.
        if not text or is_blank(text):
            raise errors.ApiError(errors.INVALID_MESSAGE)
        if len(text) > MAX_TEXT_CHARS:
            raise errors.ApiError(errors.MESSAGE_TOO_LONG)
        phone = self._phones.normalise(to)
        if phone is None:
            raise errors.ApiError(errors.INVALID_PHONE)
        self._manager.require_connected(token)
        result = await call_engine(
            self._manager.engine,
            c.CMD_SEND_TEXT,
            {"token": token, "to": user_jid(phone), "text": text, "typing_ms": self._typing_ms},
            within=self._typing_ms / 1000 + ENGINE_REPLY_MARGIN_S,
            failure=errors.SEND_FAILED,
        )
        data = {"messageId": result["id"], "timestamp": utc_timestamp(float(result["timestamp"]))}
        return ok(request, data, "Message sent")

    async def validate_phone(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = _token(body)
        phone = self._phones.normalise(body.text("phone"))
        if phone is None:
            raise errors.ApiError(errors.INVALID_PHONE)
        self._manager.require_connected(token)
        cached = self._cache.get(token, phone)
        if cached is not None:
            return ok(request, {**cached, "cached": True}, "Phone validation result (cached)")
        result = await call_engine(
            self._manager.engine,
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

    async def clear_cache(self, request: web.Request) -> web.Response:
        return ok(request, {"cleared": self._cache.clear()}, "Cache cleared")
