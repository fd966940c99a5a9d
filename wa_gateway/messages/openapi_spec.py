"""OpenAPI spec of the message store's routes (docs/messages.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import (
    NULLABLE_STRING,
    TIMESTAMP,
    PathSpec,
    Schema,
    envelope,
    obj,
    operation,
    path_token,
    query,
    ref,
)

STRING: Final[Schema] = {"type": "string"}
NULLABLE_TIMESTAMP: Final[Schema] = {"type": ["string", "null"], "description": "ISO 8601 UTC"}
ERRORS: Final = (400, 401, 403, 404, 429, 500)
CURSOR: Final[Schema] = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
MEDIA: Final[Schema] = {
    "type": ["object", "null"],
    "properties": {
        "mimetype": NULLABLE_STRING,
        "size": {"type": ["integer", "null"]},
        "filename": NULLABLE_STRING,
    },
}
REACTION: Final[Schema] = obj({"from": STRING, "emoji": STRING, "timestamp": TIMESTAMP}, ("from", "emoji"))
STORED_MESSAGE: Final[Schema] = obj(
    {
        "id": STRING,
        "chat": STRING,
        "from": STRING,
        "fromMe": {"type": "boolean"},
        "isGroup": {"type": "boolean"},
        "type": STRING,
        "text": {**STRING, "description": "The text, a media caption or a poll's question; '' once revoked"},
        "caption": NULLABLE_STRING,
        "media": MEDIA,
        "replyTo": NULLABLE_STRING,
        "mentions": {"type": "array", "items": STRING},
        "pushName": STRING,
        "timestamp": TIMESTAMP,
        "source": {"enum": ["live", "history", "sent"]},
        "status": {
            "enum": ["received", "sent", "delivered", "read", "played"],
            "description": "received for incoming messages; the furthest receipt for the device's own",
        },
        "editedAt": NULLABLE_TIMESTAMP,
        "revokedAt": NULLABLE_TIMESTAMP,
        "reactions": {"type": "array", "items": REACTION},
        "cursor": {**CURSOR, "description": "This message's position: pass it as before or after"},
    },
    ("id", "chat", "from", "fromMe", "type", "text", "timestamp", "status", "reactions", "cursor"),
)
CHAT: Final[Schema] = obj(
    {
        "jid": STRING,
        "name": {**NULLABLE_STRING, "description": "The contact's push name; null for groups"},
        "isGroup": {"type": "boolean"},
        "unread": {"type": "integer", "minimum": 0},
        "lastMessage": ref("StoredMessage"),
    },
    ("jid", "name", "isGroup", "unread", "lastMessage"),
)
MESSAGE_ID: Final[Schema] = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The message id",
    "schema": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z._=+:-]{0,127}$"},
}

PATHS: Final[PathSpec] = {
    "/chats/{token}": {
        "get": operation(
            "A device's chats from the message store, the most recent first",
            tag="Messages",
            params=[
                path_token(),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "At most (default 100)"),
            ],
            errors=ERRORS,
            ok=envelope(obj({"chats": {"type": "array", "items": CHAT}}, ("chats",))),
        )
    },
    "/messages/{token}": {
        "get": operation(
            "A page of a device's stored messages, newest first",
            tag="Messages",
            description=(
                "Pass `nextCursor` back as `before` for the next (older) page; it is null at the end. "
                "`after` (a message's `cursor`) keeps the page to newer messages than that one."
            ),
            params=[
                path_token(),
                query("chat", STRING, "Only this chat: a phone number or a JID (…@s.whatsapp.net, @g.us)"),
                query("before", CURSOR, "Older than this cursor"),
                query("after", CURSOR, "Newer than this cursor"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size (default 50)"),
            ],
            errors=ERRORS,
            ok=envelope(
                obj(
                    {
                        "messages": {"type": "array", "items": ref("StoredMessage")},
                        "nextCursor": {**NULLABLE_STRING, "description": "null on the last page"},
                    },
                    ("messages", "nextCursor"),
                )
            ),
        )
    },
    "/messages/{token}/{id}": {
        "get": operation(
            "One stored message (404 MESSAGE_NOT_FOUND when the store does not hold it)",
            tag="Messages",
            params=[path_token(), MESSAGE_ID],
            errors=ERRORS,
            ok=envelope(ref("StoredMessage")),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {"StoredMessage": STORED_MESSAGE}
