"""Spec of the device routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

DEVICE_DETAIL: Final[spec.Schema] = {
    "allOf": [
        spec.ref("DeviceSummary"),
        spec.obj(
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

PATHS: Final[spec.PathSpec] = {
    "/devices": {
        "post": spec.operation(
            "Connect a device by QR code or pairing code",
            tag="Devices",
            errors=(400, 401, 409, 429, 500, 503, 504),
            body=spec.json_body(
                spec.obj(
                    {
                        "token": {
                            "type": "string",
                            "pattern": spec.TOKEN_PATTERN,
                            "description": "Phone number with country code",
                        },
                        "method": {"enum": ["qr", "code"], "default": "qr"},
                    },
                    ("token",),
                )
            ),
            ok=spec.envelope(
                spec.obj(
                    {
                        "token": spec.STRING,
                        "method": {"enum": ["qr", "code"]},
                        "status": spec.STRING,
                        "code": {"type": ["string", "null"], "description": "The pairing code (method code)"},
                    },
                    ("token", "method", "status"),
                )
            ),
            description="QR codes arrive as `qrcode` WebSocket events and from GET /devices/{token}/qr.",
        ),
        "get": spec.operation(
            "List devices",
            tag="Devices",
            errors=(401,),
            ok=spec.envelope(
                spec.obj({"devices": {"type": "array", "items": spec.ref("DeviceSummary")}}, ("devices",))
            ),
        ),
    },
    "/devices/{token}": {
        "get": spec.operation(
            "One device, with its current QR while pairing",
            tag="Devices",
            params=[spec.path_token()],
            errors=(400, 401, 404),
            ok=spec.envelope(DEVICE_DETAIL),
        ),
        "delete": spec.operation(
            "Log out and remove a device (session, contacts)",
            tag="Devices",
            params=[spec.path_token()],
            errors=(400, 401, 404, 429, 503),
            ok=spec.envelope(spec.obj({"token": spec.STRING}, ("token",))),
        ),
    },
    "/devices/{token}/qr": {
        "get": spec.operation(
            "The current QR code as PNG, or SVG with Accept: image/svg+xml",
            tag="Devices",
            params=[spec.path_token()],
            errors=(400, 401, 404),
            ok_content={
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": spec.STRING},
            },
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
