"""OpenAPI spec of the /newsletters routes and their sandbox routes (docs/channels.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.channels import api
from wa_gateway.engine import contract as c
from wa_gateway.engine.group_types import NEWSLETTER_ROLES
from wa_gateway.events.catalog import MEDIA_INFO
from wa_gateway.openapi import builders as spec

TAG: Final = "Channels"
ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
NAME: Final[spec.Schema] = {"type": "string", "minLength": 1, "maxLength": api.MAX_NAME_CHARS}
NEWSLETTER: Final[spec.Schema] = spec.obj(
    {
        "jid": spec.STRING,
        "name": spec.STRING,
        "description": spec.STRING,
        "subscribers": spec.INTEGER,
        "role": {"enum": [*NEWSLETTER_ROLES, None]},
        "muted": spec.BOOLEAN,
        "invite": spec.STRING,
    },
    ("jid", "name", "role", "muted"),
)
SERVER_ID: Final[spec.Schema] = {**spec.INTEGER, "minimum": 1, "maximum": api.MAX_SERVER_ID}
POST: Final[spec.Schema] = spec.obj(
    {
        "id": {**spec.NULLABLE_STRING, "description": "The message id; null with the neonize engine"},
        "serverId": {**SERVER_ID, "description": "The post's number in its channel"},
        "type": {"enum": list(c.MESSAGE_TYPES)},
        "text": spec.STRING,
        "caption": spec.NULLABLE_STRING,
        "media": MEDIA_INFO,
        "timestamp": {"anyOf": [spec.TIMESTAMP, {"type": "null"}], "description": "null with neonize"},
        "views": {"type": ["integer", "null"]},
        "reactions": {
            "type": "array",
            "items": spec.obj({"emoji": spec.STRING, "count": spec.INTEGER}, ("emoji", "count")),
        },
    },
    ("id", "serverId", "type", "text", "caption", "media", "timestamp", "views", "reactions"),
)
POSTS: Final[spec.Schema] = spec.obj(
    {
        "messages": {"type": "array", "items": POST},
        "nextCursor": {
            "type": ["integer", "null"],
            "description": "Pass as before for the older page; null when there is none",
        },
    },
    ("messages", "nextCursor"),
)
JID_PARAM: Final = spec.path_param("jid", spec.STRING, "Channel JID (…@newsletter) or its digits")
DELIVERED: Final[spec.Schema] = {"type": "array", "items": spec.STRING}


def _op(
    summary: str,
    ok: spec.Schema,
    *,
    channel: bool = True,
    extra_params: tuple[spec.Schema, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    params = [spec.path_token(), JID_PARAM] if channel else [spec.path_token()]
    return spec.operation(
        summary, tag=TAG, params=[*params, *extra_params], errors=ERRORS, ok=spec.envelope(ok), **extra
    )


PATHS: Final[spec.PathSpec] = {
    "/newsletters/{token}": {
        "get": _op(
            "Channels the device follows",
            spec.obj({"newsletters": {"type": "array", "items": NEWSLETTER}, "total": spec.INTEGER}),
            channel=False,
        ),
        "post": _op(
            "Create a channel; the device owns it",
            NEWSLETTER,
            channel=False,
            body=spec.json_body(
                spec.obj(
                    {"name": NAME, "description": {"type": "string", "maxLength": api.MAX_DESCRIPTION_CHARS}},
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
            body=spec.json_body(spec.obj({"jid": spec.STRING, "invite": spec.STRING})),
        )
    },
    "/newsletters/{token}/{jid}": {
        "get": _op("One channel", NEWSLETTER),
        "patch": _op(
            "Mute or unmute a channel the device follows",
            spec.obj({"jid": spec.STRING, "muted": spec.BOOLEAN}),
            body=spec.json_body(spec.obj({"muted": spec.BOOLEAN}, ("muted",))),
        ),
        "delete": _op("Unfollow a channel", spec.obj({"jid": spec.STRING, "following": spec.BOOLEAN})),
    },
    "/newsletters/{token}/{jid}/messages": {
        "get": _op(
            "The channel's posts, newest first",
            POSTS,
            extra_params=(
                spec.query(
                    "limit",
                    {**spec.INTEGER, "minimum": 1, "maximum": api.MAX_POSTS},
                    f"Page size (default {api.DEFAULT_POSTS})",
                ),
                spec.query("before", SERVER_ID, "Only posts older than this serverId (a nextCursor)"),
            ),
        )
    },
}
SANDBOX_PATHS: Final[spec.PathSpec] = {
    "/sandbox/newsletters": {
        "post": spec.operation(
            "A channel in the simulated network",
            tag="Sandbox",
            errors=(400, 401),
            body=spec.json_body(spec.obj({"name": spec.NON_EMPTY, "description": spec.STRING}, ("name",))),
            ok=spec.envelope(spec.obj({"jid": spec.STRING, "invite": spec.STRING})),
        )
    },
    "/sandbox/newsletters/{jid}/messages": {
        "post": spec.operation(
            "A post in the channel: every connected follower receives it (message.received, isNewsletter)",
            tag="Sandbox",
            params=[JID_PARAM],
            errors=(400, 401, 404),
            body=spec.json_body(spec.obj({"text": spec.NON_EMPTY, "id": spec.STRING}, ("text",))),
            ok=spec.envelope(spec.obj({"id": spec.STRING, "serverId": SERVER_ID, "delivered": DELIVERED})),
        )
    },
    "/sandbox/newsletters/{jid}/reactions": {
        "post": spec.operation(
            "Someone reacts to a post: every connected follower hears of it (message.reaction, isNewsletter)",
            tag="Sandbox",
            params=[JID_PARAM],
            errors=(400, 401, 404),
            body=spec.json_body(spec.obj({"serverId": SERVER_ID, "emoji": spec.NON_EMPTY})),
            ok=spec.envelope(spec.obj({"id": spec.STRING, "delivered": DELIVERED})),
        )
    },
}
SCHEMAS: Final[dict[str, spec.Schema]] = {}
