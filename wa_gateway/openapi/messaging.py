"""Spec of the message and number routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import (
    NON_EMPTY,
    TIMESTAMP,
    TOKEN,
    PathSpec,
    Schema,
    envelope,
    json_body,
    obj,
    operation,
)

PATHS: Final[PathSpec] = {
    "/messages": {
        "post": operation(
            "Send a text message (with typing simulation)",
            tag="Messages",
            errors=(400, 401, 404, 409, 413, 429, 500, 503, 504),
            body=json_body(
                obj(
                    {
                        "token": TOKEN,
                        "to": {**NON_EMPTY, "description": "Phone number, or a phone, LID or group JID"},
                        "text": NON_EMPTY,
                        "replyTo": {"type": "string", "description": "Id of a message to quote"},
                        "mentions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Phone numbers or user JIDs to mention",
                        },
                    },
                    ("token", "to", "text"),
                )
            ),
            ok=envelope(
                obj({"messageId": {"type": "string"}, "timestamp": TIMESTAMP}, ("messageId", "timestamp"))
            ),
        )
    },
    "/validate/phone": {
        "post": operation(
            "Is a number on WhatsApp? (cached per device)",
            tag="Messages",
            errors=(400, 401, 404, 409, 429, 500, 504),
            body=json_body(obj({"token": TOKEN, "phone": NON_EMPTY}, ("token", "phone"))),
            ok=envelope(
                obj(
                    {
                        "phone": {"type": "string"},
                        "isOnWhatsApp": {"type": "boolean"},
                        "jid": {"type": "string"},
                        "cached": {"type": "boolean"},
                    },
                    ("phone", "isOnWhatsApp", "jid", "cached"),
                )
            ),
        )
    },
    "/cache": {
        "delete": operation(
            "Clear the phone validation cache",
            tag="Messages",
            errors=(401, 429),
            ok=envelope(obj({"cleared": {"type": "integer"}}, ("cleared",))),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
