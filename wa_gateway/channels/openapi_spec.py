"""OpenAPI spec of the /newsletters routes, their sandbox routes and the newsletter.* webhooks
(docs/channels.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine.group_types import NEWSLETTER_ROLES
from wa_gateway.openapi.builders import (
    PathSpec,
    Schema,
    envelope,
    json_body,
    obj,
    operation,
    path_token,
)

STRING: Final[Schema] = {"type": "string"}
TAG: Final = "Channels"
NAME: Final[Schema] = {"type": "string", "minLength": 1, "maxLength": 100}
ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
NEWSLETTER: Final[Schema] = obj(
    {
        "jid": STRING,
        "name": STRING,
        "description": STRING,
        "subscribers": {"type": "integer"},
        "role": {"enum": [*NEWSLETTER_ROLES, None]},
        "muted": {"type": "boolean"},
        "invite": STRING,
    },
    ("jid", "name", "role", "muted"),
)
JID_PARAM: Final[Schema] = {
    "name": "jid",
    "in": "path",
    "required": True,
    "description": "Channel JID (…@newsletter) or its digits",
    "schema": STRING,
}


def _op(summary: str, ok: Schema, *, channel: bool = True, **extra: Any) -> dict[str, Any]:
    params = [path_token(), JID_PARAM] if channel else [path_token()]
    return operation(summary, tag=TAG, params=params, errors=ERRORS, ok=envelope(ok), **extra)


PATHS: Final[PathSpec] = {
    "/newsletters/{token}": {
        "get": _op(
            "Channels the device follows",
            obj({"newsletters": {"type": "array", "items": NEWSLETTER}, "total": {"type": "integer"}}),
            channel=False,
        ),
        "post": _op(
            "Create a channel; the device owns it",
            NEWSLETTER,
            channel=False,
            body=json_body(
                obj(
                    {
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "description": {"type": "string", "maxLength": 2048},
                    },
                    ("name",),
                )
            ),
        ),
    },
    "/newsletters/{token}/follow": {
        "post": _op(
            "Follow a channel by its jid, or by its invite link or code",
            NEWSLETTER,
            channel=False,
            body=json_body(obj({"jid": STRING, "invite": STRING})),
        )
    },
    "/newsletters/{token}/{jid}": {
        "get": _op("One channel", NEWSLETTER),
        "patch": _op(
            "Mute or unmute a channel the device follows",
            obj({"jid": STRING, "muted": {"type": "boolean"}}),
            body=json_body(obj({"muted": {"type": "boolean"}}, ("muted",))),
        ),
        "delete": _op("Unfollow a channel", obj({"jid": STRING, "following": {"type": "boolean"}})),
    },
}
SANDBOX_PATHS: Final[PathSpec] = {
    "/sandbox/newsletters": {
        "post": operation(
            "A channel in the simulated network",
            tag="Sandbox",
            errors=(400, 401),
            body=json_body(
                obj({"name": {"type": "string", "minLength": 1}, "description": STRING}, ("name",))
            ),
            ok=envelope(obj({"jid": STRING, "invite": STRING})),
        )
    },
    "/sandbox/newsletters/{jid}/messages": {
        "post": operation(
            "A post in the channel: every connected follower receives it (newsletter.post)",
            tag="Sandbox",
            params=[JID_PARAM],
            errors=(400, 401, 404),
            body=json_body(obj({"text": {"type": "string", "minLength": 1}, "id": STRING}, ("text",))),
            ok=envelope(obj({"id": STRING, "delivered": {"type": "array", "items": STRING}})),
        )
    },
}
SCHEMAS: Final[dict[str, Schema]] = {}
