"""Control routes of the sandbox engine (shared/DESIGN.md, "Engines"); mounted only with WA_ENGINE=sandbox.

They play the phone and the other side of the conversation: link a device, deliver an incoming message,
a receipt or a history sync, drop the network, unlink, and show what a device sent.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from aiohttp import web

from . import errors
from .devices.api import token_from_path
from .devices.manager import DeviceManager
from .engine import contract as c
from .envelope import ok
from .phone import TOKEN_RE

CONTROL_TIMEOUT_S: Final = 30.0


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.ApiError(errors.INVALID_REQUEST) from None
    if not isinstance(parsed, dict):
        raise errors.ApiError(errors.INVALID_REQUEST)
    return parsed


class SandboxApi:
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager

    def routes(self) -> list[web.RouteDef]:
        device = "/sandbox/devices/{token}"
        return [
            web.post(f"{device}/link", self.link),
            web.post(f"{device}/messages", self.incoming_message),
            web.post(f"{device}/receipts", self.receipt),
            web.post(f"{device}/history-sync", self.history_sync),
            web.post(f"{device}/disconnect", self.disconnect),
            web.post(f"{device}/logout", self.logout),
            web.get(f"{device}/sent", self.sent),
            web.put("/sandbox/numbers/{phone}", self.set_number),
        ]

    async def _control(self, op: str, args: dict[str, Any]) -> Any:
        try:
            return await self._manager.engine.request(c.CMD_SANDBOX, {**args, "op": op}, CONTROL_TIMEOUT_S)
        except c.EngineError as exc:
            spec = {
                c.E_DEVICE_NOT_FOUND: errors.DEVICE_NOT_FOUND,
                c.E_DEVICE_NOT_CONNECTED: errors.DEVICE_NOT_CONNECTED,
                c.E_ALREADY_CONNECTED: errors.DEVICE_ALREADY_CONNECTED,
                "ENGINE_UNAVAILABLE": errors.ENGINE_UNAVAILABLE,
                "ENGINE_TIMEOUT": errors.ENGINE_TIMEOUT,
            }.get(exc.code)
            if spec is not None:
                raise errors.ApiError(spec) from None
            if exc.code == c.E_INVALID_ARGUMENT:
                # The sandbox's own validation text names the field; it is safe and useful to show.
                raise errors.ApiError(errors.INVALID_REQUEST, exc.message) from None
            raise errors.ApiError(errors.INTERNAL_ERROR) from None

    async def _device_op(self, request: web.Request, op: str, with_body: bool = True) -> Any:
        token = token_from_path(request)
        self._manager.require(token)
        args = await _json_object(request) if with_body else {}
        return await self._control(op, {**args, "token": token})

    async def link(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "link"), "Device linked")

    async def incoming_message(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "message"), "Message delivered to the device")

    async def receipt(self, request: web.Request) -> web.Response:
        await self._device_op(request, "receipt")
        return ok(request, None, "Receipt delivered to the device")

    async def history_sync(self, request: web.Request) -> web.Response:
        await self._device_op(request, "history_sync")
        return ok(request, None, "History sync delivered to the device")

    async def disconnect(self, request: web.Request) -> web.Response:
        await self._device_op(request, "disconnect", with_body=False)
        return ok(request, None, "Network dropped; the device reconnects by itself")

    async def logout(self, request: web.Request) -> web.Response:
        await self._device_op(request, "logout", with_body=False)
        return ok(request, None, "Device unlinked from the phone")

    async def sent(self, request: web.Request) -> web.Response:
        return ok(request, await self._device_op(request, "sent", with_body=False), "Sent log")

    async def set_number(self, request: web.Request) -> web.Response:
        phone = request.match_info["phone"]
        if not TOKEN_RE.fullmatch(phone):
            raise errors.ApiError(errors.INVALID_PHONE)
        args = await _json_object(request)
        data = await self._control("set_number", {"registered": args.get("registered", True), "phone": phone})
        return ok(request, data, "Number updated")
