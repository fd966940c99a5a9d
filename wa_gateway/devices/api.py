"""Device routes: connect (QR or pairing code), list, show, QR image, delete."""

from __future__ import annotations

import asyncio
import io
from typing import Final

import segno
from aiohttp import web

from wa_gateway import errors
from wa_gateway.apikeys.policy import require_device, visible_devices
from wa_gateway.body import read_body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.envelope import ok
from wa_gateway.phone import is_valid_token
from wa_gateway.route_table import RouteTable, route

METHODS: Final = ("qr", "code")
SVG: Final = "image/svg+xml"
PNG: Final = "image/png"
_QR_SCALE: Final = 6


def token_from_path(request: web.Request) -> str:
    token = request.match_info["token"]
    if not is_valid_token(token):
        raise errors.ApiError(errors.INVALID_TOKEN)
    return token


def render_qr(data: str, kind: str) -> bytes:
    qr = segno.make_qr(data, error="l")
    out = io.BytesIO()
    if kind == SVG:
        qr.save(out, kind="svg", scale=_QR_SCALE, border=4, xmldecl=False)
    else:
        qr.save(out, kind="png", scale=_QR_SCALE, border=4)
    return out.getvalue()


class DevicesApi(RouteTable):
    def __init__(self, manager: DeviceManager) -> None:
        self._manager = manager

    @route.post("/devices")
    async def connect(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body.text("token")
        method = body.text("method") or "qr"
        if not token:
            raise errors.ApiError(errors.MISSING_TOKEN_DEVICE)
        if not is_valid_token(token):
            raise errors.ApiError(errors.INVALID_TOKEN)
        require_device(token)
        if method not in METHODS:
            raise errors.ApiError(errors.INVALID_METHOD)
        data = await self._manager.connect(token, method)
        message = "QR code sent via WebSocket" if method == "qr" else "Pairing code sent via WebSocket"
        if data["status"] == "connecting":
            message = "Device is already paired; reconnecting"
        return ok(request, data, message)

    @route.get("/devices")
    async def list_devices(self, request: web.Request) -> web.Response:
        return ok(
            request,
            {"devices": visible_devices(request, await self._manager.cluster_summaries())},
            "Devices retrieved",
        )

    @route.get("/devices/{token}")
    async def show(self, request: web.Request) -> web.Response:
        detail = await self._manager.cluster_detail(token_from_path(request))
        return ok(request, detail, "Device retrieved")

    @route.get("/devices/{token}/qr")
    async def qr_image(self, request: web.Request) -> web.Response:
        device = self._manager.require(token_from_path(request))
        if device.status != "pairing" or not device.qr:
            raise errors.ApiError(errors.QR_NOT_AVAILABLE)
        kind = SVG if SVG in request.headers.get("Accept", "") else PNG
        # Rendering is pure-Python CPU work (~30 ms): keep it off the loop.
        image = await asyncio.to_thread(render_qr, device.qr, kind)
        return web.Response(body=image, content_type=kind, headers={"Cache-Control": "no-store"})

    @route.delete("/devices/{token}")
    async def delete(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        await self._manager.delete(token)
        return ok(request, {"token": token}, "Device disconnected and logged out")
