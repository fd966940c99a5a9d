"""OpenAPI spec of the sandbox control routes that play the other side of messaging beyond text."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi import builders as spec


def _control(summary: str, body: spec.Schema, ok: spec.Schema | None = None) -> dict[str, Any]:
    return spec.operation(
        summary,
        tag="Sandbox",
        params=[spec.path_token()],
        errors=(400, 401, 404, 409),
        body=spec.json_body(body),
        ok=spec.envelope(ok),
    )


_FROM: Final[dict[str, spec.Schema]] = {"from": {"type": "string", "description": "Digits of the sender"}}
PATHS: Final[spec.PathSpec] = {
    "/sandbox/devices/{token}/reactions": {
        "post": _control(
            "Someone reacts to a message",
            spec.obj(
                {**_FROM, "targetId": spec.STRING, "emoji": spec.STRING, "chat": spec.STRING},
                ("from", "targetId", "emoji"),
            ),
            spec.obj({"id": spec.STRING}),
        )
    },
    "/sandbox/devices/{token}/edits": {
        "post": _control(
            "Someone edits their message",
            spec.obj(
                {**_FROM, "targetId": spec.STRING, "text": spec.STRING, "chat": spec.STRING},
                ("from", "targetId", "text"),
            ),
        )
    },
    "/sandbox/devices/{token}/revokes": {
        "post": _control(
            "Someone deletes their message for everyone",
            spec.obj({**_FROM, "targetId": spec.STRING, "chat": spec.STRING}, ("from", "targetId")),
        )
    },
    "/sandbox/devices/{token}/poll-votes": {
        "post": _control(
            "Someone votes in a poll the device sent",
            spec.obj(
                {
                    **_FROM,
                    "pollId": spec.STRING,
                    "options": {"type": "array", "items": spec.STRING},
                    "chat": spec.STRING,
                },
                ("from", "pollId", "options"),
            ),
        )
    },
    "/sandbox/devices/{token}/media-messages": {
        "post": _control(
            "An incoming media message (downloadable afterwards)",
            spec.obj(
                {
                    **_FROM,
                    "kind": {"enum": list(c.MEDIA_KINDS)},
                    "mimetype": spec.STRING,
                    "filename": spec.STRING,
                    "caption": spec.STRING,
                    "base64": spec.STRING,
                    "chat": spec.STRING,
                    "replyTo": spec.STRING,
                    "mentions": {"type": "array", "items": spec.STRING},
                },
                ("from", "kind", "mimetype", "base64"),
            ),
            spec.obj({"id": spec.STRING}),
        )
    },
    "/sandbox/devices/{token}/calls": {
        "post": _control(
            "An incoming call",
            spec.obj({**_FROM, "video": spec.BOOLEAN, "group": spec.BOOLEAN}, ("from",)),
            spec.obj({"callId": spec.STRING}),
        )
    },
    "/sandbox/devices/{token}/groups": {
        "put": _control(
            "The groups the device is in (what GET /groups answers)",
            spec.obj(
                {
                    "groups": {
                        "type": "array",
                        "items": spec.obj(
                            {
                                "jid": spec.STRING,
                                "subject": spec.STRING,
                                "topic": spec.STRING,
                                "owner": spec.STRING,
                                "participants": {"type": "array", "items": spec.STRING},
                                "admins": {"type": "array", "items": spec.STRING},
                            },
                            ("jid", "subject", "participants"),
                        ),
                    }
                },
                ("groups",),
            ),
            spec.obj({"groups": spec.INTEGER}),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
