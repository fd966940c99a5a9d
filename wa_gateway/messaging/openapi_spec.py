"""OpenAPI spec of the routes for messaging beyond text (media, message actions, polls, presence)
and of the webhooks they add, in the form ``openapi.document.build_document`` takes."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi import builders as spec

TO: Final[spec.Schema] = {
    **spec.NON_EMPTY,
    "description": "Phone number, or a JID (…@s.whatsapp.net, …@lid, …@g.us)",
}
SEND_ERRORS: Final = (400, 401, 404, 409, 413, 429, 500, 503, 504)
ACTION_ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
SENT: Final[dict[str, spec.Schema]] = {"messageId": spec.STRING, "timestamp": spec.TIMESTAMP}
MESSAGE_ID: Final[spec.Schema] = spec.path_param(
    "id", {**spec.NON_EMPTY, "pattern": spec.MESSAGE_ID_PATTERN}, "A WhatsApp message id"
)

_MEDIA_FIELDS: Final[dict[str, spec.Schema]] = {
    "token": spec.TOKEN,
    "to": TO,
    "type": {"enum": list(c.MEDIA_KINDS)},
    "caption": {"type": "string", "description": "image, video and document only"},
    "filename": spec.STRING,
    "mimetype": {"type": "string", "description": "Sniffed from the content when absent"},
    "replyTo": {"type": "string", "description": "Id of the message to quote"},
}
MEDIA_JSON: Final[spec.Schema] = spec.obj(
    {
        **_MEDIA_FIELDS,
        "base64": {"type": "string", "description": "The file, base64 (a data: URL works too)"},
        "url": {"type": "string", "description": "http(s) URL the gateway downloads"},
    },
    ("token", "to", "type"),
)
MEDIA_FORM: Final[spec.Schema] = spec.obj(
    {**_MEDIA_FIELDS, "file": {"type": "string", "contentMediaType": "application/octet-stream"}},
    ("token", "to", "type", "file"),
)


def _chat_action(summary: str, fields: dict[str, spec.Schema], required: tuple[str, ...]) -> dict[str, Any]:
    return spec.operation(
        summary,
        tag="Messages",
        params=[MESSAGE_ID],
        errors=ACTION_ERRORS,
        body=spec.json_body(
            spec.obj({"token": spec.TOKEN, "chat": TO, **fields}, ("token", "chat", *required))
        ),
        ok=spec.envelope(spec.obj({**SENT, "emoji": spec.STRING}, ("messageId", "timestamp"))),
    )


PATHS: Final[spec.PathSpec] = {
    "/messages/media": {
        "post": spec.operation(
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
            ok=spec.envelope(
                spec.obj(
                    {
                        **SENT,
                        "type": spec.STRING,
                        "mimetype": spec.STRING,
                        "size": spec.INTEGER,
                        "filename": spec.STRING,
                    },
                    ("messageId", "timestamp", "type", "mimetype", "size"),
                )
            ),
        )
    },
    "/messages/read": {
        "post": spec.operation(
            "Mark messages read (blue ticks)",
            tag="Messages",
            errors=ACTION_ERRORS,
            body=spec.json_body(
                spec.obj(
                    {
                        "token": spec.TOKEN,
                        "chat": TO,
                        "messageIds": {
                            "type": "array",
                            "items": spec.STRING,
                            "minItems": 1,
                            "maxItems": 1000,
                        },
                        "sender": {"type": "string", "description": "In a group: who wrote the messages"},
                    },
                    ("token", "chat", "messageIds"),
                )
            ),
            ok=spec.envelope(
                spec.obj({"chat": spec.STRING, "messageIds": {"type": "array", "items": spec.STRING}})
            ),
        )
    },
    "/messages/{id}/reaction": {
        "post": _chat_action(
            'React to a message with one emoji ("" removes the reaction)', {"emoji": spec.STRING}, ("emoji",)
        )
    },
    "/messages/{id}": {
        "patch": _chat_action(
            "Edit a text, or the caption of an image, video or document, this device sent",
            {"text": spec.STRING},
            ("text",),
        ),
        "delete": spec.operation(
            "Delete a message this device sent, for everyone",
            tag="Messages",
            params=[
                MESSAGE_ID,
                spec.query("token", spec.STRING, "Device token (or in a JSON body)"),
                spec.query("chat", spec.STRING, "The chat of the message (or in a JSON body)"),
            ],
            errors=ACTION_ERRORS,
            body=spec.json_body(spec.obj({"token": spec.TOKEN, "chat": TO}), required=False),
            ok=spec.envelope(spec.obj(SENT, ("messageId", "timestamp"))),
        ),
    },
    "/messages/{token}/{id}/media": {
        "get": spec.operation(
            "Download the file of an incoming media message",
            tag="Messages",
            params=[spec.path_token(), MESSAGE_ID],
            errors=ACTION_ERRORS,
            ok_content={
                "*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
            },
        )
    },
    "/polls": {
        "post": spec.operation(
            "Send a poll (2 to 12 options)",
            tag="Messages",
            errors=SEND_ERRORS,
            body=spec.json_body(
                spec.obj(
                    {
                        "token": spec.TOKEN,
                        "to": TO,
                        "question": spec.STRING,
                        "options": {"type": "array", "items": spec.STRING, "minItems": 2, "maxItems": 12},
                        "multiple": spec.BOOLEAN,
                    },
                    ("token", "to", "question", "options"),
                )
            ),
            ok=spec.envelope(
                spec.obj(
                    {**SENT, "options": {"type": "array", "items": spec.STRING}, "multiple": spec.BOOLEAN},
                    ("messageId", "timestamp"),
                )
            ),
        )
    },
    "/presence": {
        "post": spec.operation(
            "Set the account's presence, or typing/recording/paused in one chat",
            tag="Messages",
            errors=ACTION_ERRORS,
            body=spec.json_body(
                spec.obj(
                    {"token": spec.TOKEN, "to": TO, "state": {"enum": list(c.PRESENCE_STATES)}},
                    ("token", "state"),
                )
            ),
            ok=spec.envelope(spec.obj({"state": spec.STRING, "to": spec.NULLABLE_STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
