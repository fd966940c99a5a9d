"""Spec of the sandbox engine's control routes (present only with WA_ENGINE=sandbox)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

DEVICE_ERRORS: Final = (400, 401, 404, 409)
HISTORY_CONTACT: Final[spec.Schema] = spec.obj({"phone": spec.STRING, "name": spec.STRING}, ("phone",))
HISTORY_MESSAGE: Final[spec.Schema] = spec.obj(
    {
        "id": spec.STRING,
        "from": {"type": "string", "description": "The author's number (not with fromMe)"},
        "chat": {"type": "string", "description": "Digits or a group JID; defaults to from"},
        "fromMe": spec.BOOLEAN,
        "text": spec.STRING,
        "pushName": spec.STRING,
        "timestamp": {"type": "string", "description": "ISO 8601, like 2026-01-31T12:00:00Z"},
    },
    ("text",),
)


def control(
    summary: str, body: spec.Schema | None = None, ok: spec.Schema | None = None
) -> dict[str, object]:
    return spec.operation(
        summary,
        tag="Sandbox",
        params=[spec.path_token()],
        errors=DEVICE_ERRORS,
        body=spec.json_body(body, required=False) if body is not None else None,
        ok=spec.envelope(ok),
    )


PATHS: Final[spec.PathSpec] = {
    "/sandbox/devices/{token}/link": {
        "post": control(
            "The phone scanned the QR / entered the code",
            spec.obj({"pushName": spec.STRING}),
            spec.obj({"jid": spec.STRING, "pushName": spec.STRING}),
        )
    },
    "/sandbox/devices/{token}/messages": {
        "post": control(
            "An incoming message",
            spec.obj(
                {
                    "from": spec.STRING,
                    "text": spec.STRING,
                    "pushName": spec.STRING,
                    "id": spec.STRING,
                    "chat": spec.STRING,
                },
                ("from", "text"),
            ),
            spec.obj({"id": spec.STRING}),
        )
    },
    "/sandbox/devices/{token}/receipts": {
        "post": control(
            "A receipt for messages this device sent",
            spec.obj(
                {
                    "type": {"enum": ["delivered", "read", "played"]},
                    "messageIds": {"type": "array", "items": spec.STRING},
                    "from": spec.STRING,
                },
                ("type", "messageIds", "from"),
            ),
        )
    },
    "/sandbox/devices/{token}/history-sync": {
        "post": control(
            "A history-sync batch with these 1:1 chats, and their past messages",
            spec.obj(
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
        "get": spec.operation(
            "What the device sent, in order, and the ids it marked read",
            tag="Sandbox",
            params=[spec.path_token()],
            errors=DEVICE_ERRORS,
            ok=spec.envelope(
                spec.obj(
                    {
                        "messages": {"type": "array", "items": {"type": "object"}},
                        "read": {"type": "array", "items": spec.STRING},
                    }
                )
            ),
        )
    },
    "/sandbox/numbers/{phone}": {
        "put": spec.operation(
            "What /validate/phone will learn for this number",
            tag="Sandbox",
            params=[spec.path_param("phone")],
            errors=(400, 401),
            body=spec.json_body(spec.obj({"registered": spec.BOOLEAN}), required=False),
            ok=spec.envelope(spec.obj({"phone": spec.STRING, "registered": spec.BOOLEAN})),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
