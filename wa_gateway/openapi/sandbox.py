"""Spec of the sandbox engine's control routes (present only with WA_ENGINE=sandbox)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation, path_token

STRING: Final[Schema] = {"type": "string"}
DEVICE_ERRORS: Final = (400, 401, 404, 409)
HISTORY_CONTACT: Final[Schema] = obj({"phone": STRING, "name": STRING}, ("phone",))
HISTORY_MESSAGE: Final[Schema] = obj(
    {
        "id": STRING,
        "from": {"type": "string", "description": "The author's number (not with fromMe)"},
        "chat": {"type": "string", "description": "Digits or a group JID; defaults to from"},
        "fromMe": {"type": "boolean"},
        "text": STRING,
        "pushName": STRING,
        "timestamp": {"type": "string", "description": "ISO 8601, like 2026-01-31T12:00:00Z"},
    },
    ("text",),
)


def control(summary: str, body: Schema | None = None, ok: Schema | None = None) -> dict[str, object]:
    return operation(
        summary,
        tag="Sandbox",
        params=[path_token()],
        errors=DEVICE_ERRORS,
        body=json_body(body, required=False) if body is not None else None,
        ok=envelope(ok),
    )


PATHS: Final[PathSpec] = {
    "/sandbox/devices/{token}/link": {
        "post": control(
            "The phone scanned the QR / entered the code",
            obj({"pushName": STRING}),
            obj({"jid": STRING, "pushName": STRING}),
        )
    },
    "/sandbox/devices/{token}/messages": {
        "post": control(
            "An incoming message",
            obj(
                {"from": STRING, "text": STRING, "pushName": STRING, "id": STRING, "chat": STRING},
                ("from", "text"),
            ),
            obj({"id": STRING}),
        )
    },
    "/sandbox/devices/{token}/receipts": {
        "post": control(
            "A receipt for messages this device sent",
            obj(
                {
                    "type": {"enum": ["delivered", "read", "played"]},
                    "messageIds": {"type": "array", "items": STRING},
                    "from": STRING,
                },
                ("type", "messageIds", "from"),
            ),
        )
    },
    "/sandbox/devices/{token}/history-sync": {
        "post": control(
            "A history-sync batch with these 1:1 chats, and their past messages",
            obj(
                {
                    "contacts": {"type": "array", "items": HISTORY_CONTACT},
                    "messages": {"type": "array", "items": HISTORY_MESSAGE},
                }
            ),
        )
    },
    "/sandbox/devices/{token}/disconnect": {"post": control("Network drop; the device reconnects by itself")},
    "/sandbox/devices/{token}/stall": {
        "post": control(
            "The session stalls: the device stays connected but WhatsApp stops answering (its sends fail) "
            "until the watchdog reconnects it after WATCHDOG_SECONDS (`device.reconnecting`)"
        )
    },
    "/sandbox/devices/{token}/logout": {"post": control("The phone unlinked the device")},
    "/sandbox/devices/{token}/sent": {
        "get": operation(
            "What the device sent, in order, and the ids it marked read",
            tag="Sandbox",
            params=[path_token()],
            errors=DEVICE_ERRORS,
            ok=envelope(
                obj(
                    {
                        "messages": {"type": "array", "items": {"type": "object"}},
                        "read": {"type": "array", "items": STRING},
                    }
                )
            ),
        )
    },
    "/sandbox/numbers/{phone}": {
        "put": operation(
            "What /validate/phone will learn for this number",
            tag="Sandbox",
            params=[{"name": "phone", "in": "path", "required": True, "schema": STRING}],
            errors=(400, 401),
            body=json_body(obj({"registered": {"type": "boolean"}}), required=False),
            ok=envelope(obj({"phone": STRING, "registered": {"type": "boolean"}})),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
