"""OpenAPI spec of the /newsletters routes and their sandbox routes (docs/channels.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.engine.group_types import NEWSLETTER_ROLES
from wa_gateway.openapi.builders import (
    NULLABLE_STRING,
    TIMESTAMP,
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
SERVER_ID: Final[Schema] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
POST: Final[Schema] = obj(
    {
        "id": {**NULLABLE_STRING, "description": "The message id; null with the neonize engine"},
        "serverId": {**SERVER_ID, "description": "The post's number in its channel; pass as before"},
        "type": {"enum": list(c.MESSAGE_TYPES)},
        "text": STRING,
        "caption": NULLABLE_STRING,
        "media": {
            "type": ["object", "null"],
            "properties": {
                "mimetype": STRING,
                "size": {"type": ["integer", "null"]},
                "filename": NULLABLE_STRING,
            },
        },
        "timestamp": {"anyOf": [TIMESTAMP, {"type": "null"}], "description": "null with the neonize engine"},
        "views": {"type": ["integer", "null"]},
        "reactions": {
            "type": "array",
            "items": obj({"emoji": STRING, "count": {"type": "integer"}}, ("emoji", "count")),
        },
    },
    ("id", "serverId", "type", "text", "caption", "media", "timestamp", "views", "reactions"),
)
POSTS: Final[Schema] = obj(
    {
        "messages": {"type": "array", "items": POST},
        "nextCursor": {
            "type": ["integer", "null"],
            "description": "Pass as before for the older page; null when there is none",
        },
    },
    ("messages", "nextCursor"),
)
JID_PARAM: Final[Schema] = {
    "name": "jid",
    "in": "path",
    "required": True,
    "description": "Channel JID (…@newsletter) or its digits",
    "schema": STRING,
}


def _op(
    summary: str, ok: Schema, *, channel: bool = True, extra_params: tuple[Schema, ...] = (), **extra: Any
) -> dict[str, Any]:
    params = [path_token(), JID_PARAM] if channel else [path_token()]
    params += list(extra_params)
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
    "/newsletters/{token}/{jid}/messages": {
        "get": _op(
            "The channel's posts, newest first",
            POSTS,
            extra_params=(
                query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size (default 20)"),
                query("before", SERVER_ID, "Only posts older than this serverId (a nextCursor)"),
            ),
        )
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
            "A post in the channel: every connected follower receives it (message.received, isNewsletter)",
            tag="Sandbox",
            params=[JID_PARAM],
            errors=(400, 401, 404),
            body=json_body(obj({"text": {"type": "string", "minLength": 1}, "id": STRING}, ("text",))),
            ok=envelope(
                obj({"id": STRING, "serverId": SERVER_ID, "delivered": {"type": "array", "items": STRING}})
            ),
        )
    },
    "/sandbox/newsletters/{jid}/reactions": {
        "post": operation(
            "Someone reacts to a post: every connected follower hears of it (message.reaction, isNewsletter)",
            tag="Sandbox",
            params=[JID_PARAM],
            errors=(400, 401, 404),
            body=json_body(obj({"serverId": SERVER_ID, "emoji": {"type": "string", "minLength": 1}})),
            ok=envelope(obj({"id": STRING, "delivered": {"type": "array", "items": STRING}})),
        )
    },
}
SCHEMAS: Final[dict[str, Schema]] = {}
