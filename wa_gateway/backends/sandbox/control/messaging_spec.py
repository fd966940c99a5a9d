"""OpenAPI spec of the sandbox control routes that play the other side of messaging beyond text."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation, path_token

STRING: Final[Schema] = {"type": "string"}
BOOLEAN: Final[Schema] = {"type": "boolean"}


def _control(summary: str, body: Schema, ok: Schema | None = None) -> dict[str, Any]:
    return operation(
        summary,
        tag="Sandbox",
        params=[path_token()],
        errors=(400, 401, 404, 409),
        body=json_body(body),
        ok=envelope(ok),
    )


_FROM: Final[dict[str, Schema]] = {"from": {"type": "string", "description": "Digits of the sender"}}
PATHS: Final[PathSpec] = {
    "/sandbox/devices/{token}/reactions": {
        "post": _control(
            "Someone reacts to a message",
            obj(
                {**_FROM, "targetId": STRING, "emoji": STRING, "chat": STRING}, ("from", "targetId", "emoji")
            ),
            obj({"id": STRING}),
        )
    },
    "/sandbox/devices/{token}/edits": {
        "post": _control(
            "Someone edits their message",
            obj({**_FROM, "targetId": STRING, "text": STRING, "chat": STRING}, ("from", "targetId", "text")),
        )
    },
    "/sandbox/devices/{token}/revokes": {
        "post": _control(
            "Someone deletes their message for everyone",
            obj({**_FROM, "targetId": STRING, "chat": STRING}, ("from", "targetId")),
        )
    },
    "/sandbox/devices/{token}/poll-votes": {
        "post": _control(
            "Someone votes in a poll the device sent",
            obj(
                {**_FROM, "pollId": STRING, "options": {"type": "array", "items": STRING}, "chat": STRING},
                ("from", "pollId", "options"),
            ),
        )
    },
    "/sandbox/devices/{token}/media-messages": {
        "post": _control(
            "An incoming media message (downloadable afterwards)",
            obj(
                {
                    **_FROM,
                    "kind": {"enum": list(c.MEDIA_KINDS)},
                    "mimetype": STRING,
                    "filename": STRING,
                    "caption": STRING,
                    "base64": STRING,
                    "chat": STRING,
                    "replyTo": STRING,
                    "mentions": {"type": "array", "items": STRING},
                },
                ("from", "kind", "mimetype", "base64"),
            ),
            obj({"id": STRING}),
        )
    },
    "/sandbox/devices/{token}/calls": {
        "post": _control(
            "An incoming call",
            obj({**_FROM, "video": BOOLEAN, "group": BOOLEAN}, ("from",)),
            obj({"callId": STRING}),
        )
    },
    "/sandbox/devices/{token}/groups": {
        "put": _control(
            "The groups the device is in (what GET /groups answers)",
            obj(
                {
                    "groups": {
                        "type": "array",
                        "items": obj(
                            {
                                "jid": STRING,
                                "subject": STRING,
                                "topic": STRING,
                                "owner": STRING,
                                "participants": {"type": "array", "items": STRING},
                                "admins": {"type": "array", "items": STRING},
                            },
                            ("jid", "subject", "participants"),
                        ),
                    }
                },
                ("groups",),
            ),
            obj({"groups": {"type": "integer"}}),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
