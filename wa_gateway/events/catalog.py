"""Every event the gateway emits, defined once: its name, its fields in payload order, and what it means.

The webhook payloads, the WebSocket frames and the OpenAPI ``webhooks`` are all produced from these
definitions (docs/events.md); the field order is the byte order receivers have always seen.
"""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.events.model import INTERNAL, STRING, WS, EventType, Field
from wa_gateway.openapi.builders import NULLABLE_STRING, TIMESTAMP, Schema

BOOLEAN: Final[Schema] = {"type": "boolean"}
STRINGS: Final[Schema] = {"type": "array", "items": STRING}
MEDIA_INFO: Final[Schema] = {
    "type": ["object", "null"],
    "properties": {"mimetype": STRING, "size": {"type": ["integer", "null"]}, "filename": NULLABLE_STRING},
}
MESSAGE_TYPE: Final[Schema] = {"enum": list(c.MESSAGE_TYPES)}
# A first history sync can bring tens of thousands of contacts; one webhook of that size would exceed
# common receiver body limits (nginx's default is 1 MB), so the list goes out in slices.
CONTACTS_SYNC_CHUNK: Final = 1000


def _f(key: str, schema: Schema = STRING, description: str = "") -> Field:
    return Field(key, {**schema, "description": description} if description else schema)


_ID: Final = _f("id", description="The message id")
_CHAT: Final = _f("chat", description="The chat: a person's JID or a group's")
_FROM: Final = _f("from", description="Who did it")
_GROUP: Final = _f("isGroup", BOOLEAN)
_NEWSLETTER: Final = _f("isNewsletter", BOOLEAN, "In a channel the device follows (docs/channels.md)")
_TIMESTAMP: Final = _f("timestamp", TIMESTAMP)
_CONTACT: Final = (_f("name"), _f("phone"))

# --- the seed's device events: WebSocket only ---------------------------------------------------------
QRCODE: Final = EventType(
    "qrcode", "A QR code to scan while pairing; a new one replaces it.", kind=WS, data_schema_override=STRING
)
PAIRING_CODE: Final = EventType(
    "pairing-code", "The code to type on the phone while pairing by code.", (_f("code"),), kind=WS
)
CONNECTION_SUCCESS: Final = EventType("connection-success", "The device is linked and online.", kind=WS)
CONNECTION_ERROR: Final = EventType(
    "connection-error",
    "The device went offline, was logged out or failed to connect, or pairing expired: `message` says which.",
    kind=WS,
    has_message=True,
)

# --- webhooks (also shown on the WebSocket to clients that subscribe to them) -------------------------
DEVICE_CONNECTED: Final = EventType(
    "device.connected",
    "The device connected to WhatsApp.",
    (_f("jid", NULLABLE_STRING), _f("pushName", NULLABLE_STRING)),
)
DEVICE_DISCONNECTED: Final = EventType(
    "device.disconnected", "The device lost its connection; the gateway reconnects it.", (_f("reason"),)
)
DEVICE_RECONNECTING: Final = EventType(
    "device.reconnecting",
    "The connection looked alive but carried nothing (docs/engine.md): it was dropped and is reconnecting.",
    (_f("reason"),),
)
DEVICE_LOGGED_OUT: Final = EventType(
    "device.logged_out", "The device was unlinked; its session is gone.", (_f("reason"),)
)
DEVICE_QR_EXPIRED: Final = EventType("device.qr_expired", "Pairing gave up: no QR code was scanned.")
DEVICE_BANNED: Final = EventType(
    "device.banned",
    "WhatsApp banned the account, for good or until `expires`.",
    (_f("code", {"type": ["integer", "null"]}), _f("expires", NULLABLE_STRING)),
)
MESSAGE_RECEIVED: Final = EventType(
    "message.received",
    "Someone else's message arrived (never the account's own; status posts are `status.received`); a post"
    " in a channel the device follows has `isNewsletter` true and `from` and `chat` the channel.",
    (
        _ID,
        _FROM,
        _CHAT,
        _f("pushName"),
        _f("text", NULLABLE_STRING),
        _f("type", MESSAGE_TYPE),
        _f("caption", NULLABLE_STRING),
        _f("replyTo", NULLABLE_STRING, "The id of the message this one quotes"),
        _GROUP,
        _NEWSLETTER,
        _f("media", MEDIA_INFO),
        _f("mentions", STRINGS),
        _TIMESTAMP,
    ),
)
MESSAGE_RECEIPT: Final = EventType(
    "message.receipt",
    "Messages the device sent were delivered, read or played.",
    (
        _f("type", {"enum": list(c.RECEIPT_TYPES)}),
        _f("messageIds", STRINGS),
        _FROM,
        _CHAT,
        _TIMESTAMP,
    ),
)
MESSAGE_REACTION: Final = EventType(
    "message.reaction",
    "Someone reacted to a message; an empty emoji removes the reaction.",
    (_ID, _CHAT, _FROM, _f("targetId"), _f("emoji"), _GROUP, _NEWSLETTER, _TIMESTAMP),
)
MESSAGE_EDITED: Final = EventType(
    "message.edited", "Someone edited a message.", (_ID, _CHAT, _FROM, _f("text"), _GROUP, _TIMESTAMP)
)
MESSAGE_REVOKED: Final = EventType(
    "message.revoked", "Someone deleted a message for everyone.", (_ID, _CHAT, _FROM, _GROUP, _TIMESTAMP)
)
MESSAGE_POLL_VOTE: Final = EventType(
    "message.poll_vote",
    "Someone voted on a poll; `options` is their whole current choice.",
    (_f("pollId"), _CHAT, _FROM, _f("options", STRINGS), _GROUP, _TIMESTAMP),
)
CONTACTS_NEW: Final = EventType("contacts.new", "A message came from a contact not seen before.", _CONTACT)
CONTACTS_SYNC: Final = EventType(
    "contacts.sync",
    "A history sync brought contacts not seen before, in slices.",
    _CONTACT,
    list_of=CONTACTS_SYNC_CHUNK,
)
CALL_OFFER: Final = EventType(
    "call.offer",
    "Someone is calling; `rejected` tells whether the gateway turned it down (AUTO_REJECT_CALLS).",
    (_FROM, _f("callId"), _f("isVideo", BOOLEAN), _GROUP, _f("rejected", BOOLEAN), _TIMESTAMP),
)
PRESENCE_UPDATE: Final = EventType(
    "presence.update",
    "A subscribed contact came online or went offline, or is typing in a chat.",
    (
        _f("from"),
        _f("state", {"enum": list(c.PRESENCE_STATES)}),
        _f("lastSeen", NULLABLE_STRING, "With unavailable, when the contact shares it"),
        _f("chat", NULLABLE_STRING, "The chat of composing, recording and paused"),
        _TIMESTAMP,
    ),
)
STATUS_RECEIVED: Final = EventType(
    "status.received",
    "A contact posted a status.",
    (
        _ID,
        _FROM,
        _f("pushName"),
        _f("type", MESSAGE_TYPE),
        _f("text", NULLABLE_STRING),
        _f("caption", NULLABLE_STRING),
        _f("media", MEDIA_INFO),
        _TIMESTAMP,
    ),
)

# --- inside the gateway only ---------------------------------------------------------------------------
_BY: Final = _f("by", NULLABLE_STRING, "Who did it (a JID); null when the device did it")
GROUP_JOINED: Final = EventType(
    "group.joined",
    "The device was added to a group, created one or joined one by invite (docs/groups.md).",
    (_f("jid"), _f("subject"), _BY, _TIMESTAMP),
)
GROUP_LEFT: Final = EventType(
    "group.left", "The device left a group or was removed from it.", (_f("jid"), _BY, _TIMESTAMP)
)
GROUP_UPDATED: Final = EventType(
    "group.updated",
    "A group's subject, topic, settings or picture changed; `changes` holds only what changed.",
    (
        _f("jid"),
        _f(
            "changes",
            {
                "type": "object",
                "properties": {
                    "subject": STRING,
                    "topic": STRING,
                    "announce": BOOLEAN,
                    "locked": BOOLEAN,
                    "picture": STRING,
                },
            },
        ),
        _BY,
        _TIMESTAMP,
    ),
)
GROUP_PARTICIPANTS: Final = EventType(
    "group.participants",
    "People were added to, removed from, promoted or demoted in a group.",
    (_f("jid"), _f("action", {"enum": list(c.GROUP_ACTIONS)}), _f("participants", STRINGS), _BY, _TIMESTAMP),
)
HISTORY_SYNCED: Final = EventType(
    "history.synced", "A history sync batch arrived; its engine data is the event's source.", kind=INTERNAL
)

ALL: Final[tuple[EventType, ...]] = (
    QRCODE,
    PAIRING_CODE,
    CONNECTION_SUCCESS,
    CONNECTION_ERROR,
    DEVICE_CONNECTED,
    DEVICE_DISCONNECTED,
    DEVICE_RECONNECTING,
    DEVICE_LOGGED_OUT,
    DEVICE_QR_EXPIRED,
    DEVICE_BANNED,
    MESSAGE_RECEIVED,
    MESSAGE_RECEIPT,
    MESSAGE_REACTION,
    MESSAGE_EDITED,
    MESSAGE_REVOKED,
    MESSAGE_POLL_VOTE,
    CONTACTS_NEW,
    CONTACTS_SYNC,
    CALL_OFFER,
    PRESENCE_UPDATE,
    STATUS_RECEIVED,
    GROUP_JOINED,
    GROUP_LEFT,
    GROUP_UPDATED,
    GROUP_PARTICIPANTS,
    HISTORY_SYNCED,
)
BY_NAME: Final = {t.name: t for t in ALL}
WEBHOOK_TYPES: Final = tuple(t for t in ALL if t.kind == "webhook")
SEED_TYPES: Final = tuple(t for t in ALL if t.kind == WS)
WEBHOOK_EVENTS: Final = frozenset(t.name for t in WEBHOOK_TYPES)
SEED_EVENTS: Final = frozenset(t.name for t in SEED_TYPES)
# What a WebSocket client may subscribe to.
WS_EVENTS: Final = SEED_EVENTS | WEBHOOK_EVENTS
