"""Spec of the message and number routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

PATHS: Final[spec.PathSpec] = {
    "/messages": {
        "post": spec.operation(
            "Send a text message (with typing simulation)",
            tag="Messages",
            errors=(400, 401, 404, 409, 413, 429, 500, 503, 504),
            body=spec.json_body(
                spec.obj(
                    {
                        "token": spec.TOKEN,
                        "to": {**spec.NON_EMPTY, "description": "Phone number, or a phone, LID or group JID"},
                        "text": spec.NON_EMPTY,
                        "replyTo": {"type": "string", "description": "Id of a message to quote"},
                        "mentions": {
                            "type": "array",
                            "items": spec.STRING,
                            "description": "Phone numbers or user JIDs to mention",
                        },
                    },
                    ("token", "to", "text"),
                )
            ),
            ok=spec.envelope(
                spec.obj({"messageId": spec.STRING, "timestamp": spec.TIMESTAMP}, ("messageId", "timestamp"))
            ),
        )
    },
    "/validate/phone": {
        "post": spec.operation(
            "Is a number on WhatsApp? (cached per device)",
            tag="Messages",
            errors=(400, 401, 404, 409, 429, 500, 504),
            body=spec.json_body(spec.obj({"token": spec.TOKEN, "phone": spec.NON_EMPTY}, ("token", "phone"))),
            ok=spec.envelope(
                spec.obj(
                    {
                        "phone": spec.STRING,
                        "isOnWhatsApp": spec.BOOLEAN,
                        "jid": spec.STRING,
                        "cached": spec.BOOLEAN,
                    },
                    ("phone", "isOnWhatsApp", "jid", "cached"),
                )
            ),
        )
    },
    "/cache": {
        "delete": spec.operation(
            "Clear the phone validation cache",
            tag="Messages",
            errors=(401, 429),
            ok=spec.envelope(spec.obj({"cleared": spec.INTEGER}, ("cleared",))),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
