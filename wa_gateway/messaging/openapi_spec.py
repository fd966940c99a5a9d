"""OpenAPI spec of the routes for messaging beyond text (media, message actions, polls, presence)
and of the webhooks they add, in the form ``openapi.document.build_document`` takes."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi.builders import (
    MESSAGE_ID_PATTERN,
    NON_EMPTY,
    NULLABLE_STRING,
    TIMESTAMP,
    TOKEN,
    PathSpec,
    Schema,
    envelope,
    json_body,
    obj,
    operation,
    path_token,
    query,
)

STRING: Final[Schema] = {"type": "string"}
BOOLEAN: Final[Schema] = {"type": "boolean"}
TO: Final[Schema] = {
    **NON_EMPTY,
    "description": "Phone number, or a JID (…@s.whatsapp.net, …@lid, …@g.us)",
}
SEND_ERRORS: Final = (400, 401, 404, 409, 413, 429, 500, 503, 504)
ACTION_ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
SENT: Final[dict[str, Schema]] = {"messageId": STRING, "timestamp": TIMESTAMP}
MESSAGE_ID: Final[Schema] = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "A WhatsApp message id",
    "schema": {**NON_EMPTY, "pattern": MESSAGE_ID_PATTERN},
}

_MEDIA_FIELDS: Final[dict[str, Schema]] = {
    "token": TOKEN,
    "to": TO,
    "type": {"enum": list(c.MEDIA_KINDS)},
    "caption": {"type": "string", "description": "image, video and document only"},
    "filename": STRING,
    "mimetype": {"type": "string", "description": "Sniffed from the content when absent"},
    "replyTo": {"type": "string", "description": "Id of the message to quote"},
}
MEDIA_JSON: Final[Schema] = obj(
    {
        **_MEDIA_FIELDS,
        "base64": {"type": "string", "description": "The file, base64 (a data: URL works too)"},
        "url": {"type": "string", "description": "http(s) URL the gateway downloads"},
    },
    ("token", "to", "type"),
)
MEDIA_FORM: Final[Schema] = obj(
    {**_MEDIA_FIELDS, "file": {"type": "string", "contentMediaType": "application/octet-stream"}},
    ("token", "to", "type", "file"),
)


def _chat_action(summary: str, fields: dict[str, Schema], required: tuple[str, ...]) -> dict[str, Any]:
    return operation(
        summary,
        tag="Messages",
        params=[MESSAGE_ID],
        errors=ACTION_ERRORS,
        body=json_body(obj({"token": TOKEN, "chat": TO, **fields}, ("token", "chat", *required))),
        ok=envelope(obj({**SENT, "emoji": STRING}, ("messageId", "timestamp"))),
    )


PATHS: Final[PathSpec] = {
    "/messages/media": {
        "post": operation(
            "Send an image, video, audio, voice note, document or sticker",
            tag="Messages",
            description=(
                "The file comes as a multipart upload (part `file`), `base64` or a `url`: exactly one. "
                "Limits per type: MEDIA_MAX_*_BYTES. Audio, voice and video need ffmpeg on the host "
                "(422 FFMPEG_UNAVAILABLE otherwise)."
            ),
            errors=SEND_ERRORS,
            body={
                "required": True,
                "content": {
                    "application/json": {"schema": MEDIA_JSON},
                    "multipart/form-data": {"schema": MEDIA_FORM},
                },
            },
            ok=envelope(
                obj(
                    {
                        **SENT,
                        "type": STRING,
                        "mimetype": STRING,
                        "size": {"type": "integer"},
                        "filename": STRING,
                    },
                    ("messageId", "timestamp", "type", "mimetype", "size"),
                )
            ),
        )
    },
    "/messages/read": {
        "post": operation(
            "Mark messages read (blue ticks)",
            tag="Messages",
            errors=ACTION_ERRORS,
            body=json_body(
                obj(
                    {
                        "token": TOKEN,
                        "chat": TO,
                        "messageIds": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 1000},
                        "sender": {"type": "string", "description": "In a group: who wrote the messages"},
                    },
                    ("token", "chat", "messageIds"),
                )
            ),
            ok=envelope(obj({"chat": STRING, "messageIds": {"type": "array", "items": STRING}})),
        )
    },
    "/messages/{id}/reaction": {
        "post": _chat_action(
            'React to a message with one emoji ("" removes the reaction)', {"emoji": STRING}, ("emoji",)
        )
    },
    "/messages/{id}": {
        "patch": _chat_action(
            "Edit a text, or the caption of an image, video or document, this device sent",
            {"text": STRING},
            ("text",),
        ),
        "delete": operation(
            "Delete a message this device sent, for everyone",
            tag="Messages",
            params=[
                MESSAGE_ID,
                query("token", STRING, "Device token (or in a JSON body)"),
                query("chat", STRING, "The chat of the message (or in a JSON body)"),
            ],
            errors=ACTION_ERRORS,
            body=json_body(obj({"token": TOKEN, "chat": TO}), required=False),
            ok=envelope(obj(SENT, ("messageId", "timestamp"))),
        ),
    },
    "/messages/{token}/{id}/media": {
        "get": operation(
            "Download the file of an incoming media message",
            tag="Messages",
            params=[path_token(), MESSAGE_ID],
            errors=ACTION_ERRORS,
            ok_content={
                "*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
            },
        )
    },
    "/polls": {
        "post": operation(
            "Send a poll (2 to 12 options)",
            tag="Messages",
            errors=SEND_ERRORS,
            body=json_body(
                obj(
                    {
                        "token": TOKEN,
                        "to": TO,
                        "question": STRING,
                        "options": {"type": "array", "items": STRING, "minItems": 2, "maxItems": 12},
                        "multiple": BOOLEAN,
                    },
                    ("token", "to", "question", "options"),
                )
            ),
            ok=envelope(
                obj(
                    {**SENT, "options": {"type": "array", "items": STRING}, "multiple": BOOLEAN},
                    ("messageId", "timestamp"),
                )
            ),
        )
    },
    "/presence": {
        "post": operation(
            "Set the account's presence, or typing/recording/paused in one chat",
            tag="Messages",
            errors=ACTION_ERRORS,
            body=json_body(
                obj(
                    {"token": TOKEN, "to": TO, "state": {"enum": list(c.PRESENCE_STATES)}},
                    ("token", "state"),
                )
            ),
            ok=envelope(obj({"state": STRING, "to": NULLABLE_STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
