"""Spec of the device routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import (
    TOKEN_PATTERN,
    PathSpec,
    Schema,
    envelope,
    json_body,
    obj,
    operation,
    path_token,
    ref,
)

DEVICE_DETAIL: Final[Schema] = {
    "allOf": [
        ref("DeviceSummary"),
        obj(
            {
                "qr": {"type": ["string", "null"], "description": "The current raw QR string while pairing"},
                "pairingCode": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"], "description": "The same as pairingCode"},
                "lastError": {"type": ["string", "null"]},
                "banExpires": {"type": ["string", "null"]},
            }
        ),
    ]
}

PATHS: Final[PathSpec] = {
    "/devices": {
        "post": operation(
            "Connect a device by QR code or pairing code",
            tag="Devices",
            errors=(400, 401, 409, 429, 500, 503, 504),
            body=json_body(
                obj(
                    {
                        "token": {
                            "type": "string",
                            "pattern": TOKEN_PATTERN,
                            "description": "Phone number with country code",
                        },
                        "method": {"enum": ["qr", "code"], "default": "qr"},
                    },
                    ("token",),
                )
            ),
            ok=envelope(
                obj(
                    {
                        "token": {"type": "string"},
                        "method": {"enum": ["qr", "code"]},
                        "status": {"type": "string"},
                        "code": {"type": ["string", "null"], "description": "The pairing code (method code)"},
                    },
                    ("token", "method", "status"),
                )
            ),
            description="QR codes arrive as `qrcode` WebSocket events and from GET /devices/{token}/qr.",
        ),
        "get": operation(
            "List devices",
            tag="Devices",
            errors=(401,),
            ok=envelope(obj({"devices": {"type": "array", "items": ref("DeviceSummary")}}, ("devices",))),
        ),
    },
    "/devices/{token}": {
        "get": operation(
            "One device, with its current QR while pairing",
            tag="Devices",
            params=[path_token()],
            errors=(400, 401, 404),
            ok=envelope(DEVICE_DETAIL),
        ),
        "delete": operation(
            "Log out and remove a device (session, contacts)",
            tag="Devices",
            params=[path_token()],
            errors=(400, 401, 404, 429, 503),
            ok=envelope(obj({"token": {"type": "string"}}, ("token",))),
        ),
    },
    "/devices/{token}/qr": {
        "get": operation(
            "The current QR code as PNG, or SVG with Accept: image/svg+xml",
            tag="Devices",
            params=[path_token()],
            errors=(400, 401, 404),
            ok_content={
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            },
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
