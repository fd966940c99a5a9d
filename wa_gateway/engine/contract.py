"""The engine contract: the only thing the gateway knows about WhatsApp (docs/architecture.md "Architecture").

The gateway process sends *commands* to the engine worker and receives *events* from it, as framed
orjson messages over a socketpair (see ``wa_gateway.engine.ipc``). Both backends (``neonize`` and
``sandbox``) implement ``EngineBackend`` and nothing more; the gateway never imports neonize.

Wire messages (each one JSON object):

- worker -> gateway, once at start: ``{"type": "hello", "pid", "engine", "version"}`` (``version`` is the
  build id, ``launcher.BUILD_ID``), or instead, when the backend cannot start:
  ``{"type": "fatal", "code": "ENGINE_FAILURE", "message": str}`` and the worker exits non-zero
- gateway -> worker: ``{"type": "request", "id": int, "cmd": str, "args": {...}}``
- worker -> gateway: ``{"type": "reply", "id": int, "ok": true, "result": ...}`` or
  ``{"type": "reply", "id": int, "ok": false, "error": {"code": str, "message": str}}``
- worker -> gateway: ``{"type": "event", "token": str, "event": str, "data": {...}}``
- gateway -> worker: ``{"type": "ping", "id"}``; worker -> gateway ``{"type": "pong", "id", "stats"}``

Every timestamp crossing the contract is Unix seconds (float); the gateway formats it.
Device tokens are ``^[0-9]{7,15}$`` (checked by the gateway before anything reaches the engine).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, NotRequired, Protocol, TypedDict

from wa_gateway.engine.group_types import GROUP_ACTIONS as GROUP_ACTIONS
from wa_gateway.engine.group_types import GroupDetails as GroupDetails
from wa_gateway.engine.group_types import GroupJoined as GroupJoined
from wa_gateway.engine.group_types import GroupLeft as GroupLeft
from wa_gateway.engine.group_types import GroupParticipant as GroupParticipant
from wa_gateway.engine.group_types import GroupParticipantResult as GroupParticipantResult
from wa_gateway.engine.group_types import GroupParticipantsChanged as GroupParticipantsChanged
from wa_gateway.engine.group_types import GroupSummary as GroupSummary
from wa_gateway.engine.group_types import GroupUpdated as GroupUpdated
from wa_gateway.engine.group_types import Newsletter as Newsletter
from wa_gateway.engine.group_types import NewsletterPost as NewsletterPost
from wa_gateway.engine.group_types import NewsletterReactionCount as NewsletterReactionCount

# --- commands: each one declared with its arguments, reply, timeout and errors in engine/commands.py ----
CMD_CONNECT: Final = "connect"
CMD_DISCONNECT: Final = "disconnect"
CMD_LOGOUT: Final = "logout"
CMD_SEND_TEXT: Final = "send_text"
CMD_CHECK_NUMBERS: Final = "check_numbers"
CMD_MARK_READ: Final = "mark_read"
CMD_LIST_SESSIONS: Final = "list_sessions"
CMD_STATUS: Final = "status"
CMD_SEND_MEDIA: Final = "send_media"
CMD_REACT: Final = "react"
CMD_EDIT: Final = "edit"
CMD_REVOKE: Final = "revoke"
CMD_SEND_POLL: Final = "send_poll"
CMD_SET_PRESENCE: Final = "set_presence"
CMD_LIST_GROUPS: Final = "list_groups"
CMD_GROUP_INFO: Final = "group_info"
CMD_DOWNLOAD_MEDIA: Final = "download_media"
CMD_REJECT_CALL: Final = "reject_call"
CMD_SUBSCRIBE_PRESENCE: Final = "subscribe_presence"
CMD_POST_STATUS: Final = "post_status"
CMD_POST_STATUS_MEDIA: Final = "post_status_media"
CMD_CREATE_GROUP: Final = "create_group"
CMD_UPDATE_GROUP: Final = "update_group"
CMD_GROUP_PARTICIPANTS: Final = "group_participants"
CMD_LEAVE_GROUP: Final = "leave_group"
CMD_GROUP_INVITE: Final = "group_invite"
CMD_JOIN_GROUP: Final = "join_group"
CMD_GROUP_INVITE_INFO: Final = "group_invite_info"
CMD_SET_GROUP_PICTURE: Final = "set_group_picture"
CMD_GROUP_REQUESTS: Final = "group_requests"
CMD_LINK_GROUP: Final = "link_group"
CMD_UNLINK_GROUP: Final = "unlink_group"
CMD_SUB_GROUPS: Final = "sub_groups"
CMD_LIST_NEWSLETTERS: Final = "list_newsletters"
CMD_NEWSLETTER_INFO: Final = "newsletter_info"
CMD_FOLLOW_NEWSLETTER: Final = "follow_newsletter"
CMD_UNFOLLOW_NEWSLETTER: Final = "unfollow_newsletter"
CMD_CREATE_NEWSLETTER: Final = "create_newsletter"
CMD_MUTE_NEWSLETTER: Final = "mute_newsletter"
CMD_NEWSLETTER_MESSAGES: Final = "newsletter_messages"
# Run by the worker itself, not declared: {op, token?, ...} -> backend-specific (sandbox control routes);
# {} -> None (stop every client and exit 0); {} -> {"replayed": n}, the journaled events earlier runs left
# unacked sent again once (docs/durability.md), asked once the gateway knows the devices.
CMD_SANDBOX: Final = "sandbox"
CMD_SHUTDOWN: Final = "shutdown"
CMD_REPLAY_EVENTS: Final = "replay_events"
# Status posts are messages to this chat; contacts' posts arrive as EV_MESSAGE with it as "chat".
STATUS_CHAT: Final = "status@broadcast"
STATUS_MEDIA_KINDS: Final = ("image", "video")
# WhatsApp's status text fonts (waE2E ExtendedTextMessage.FontType).
STATUS_FONTS: Final = (0, 1, 2, 6, 7, 8, 9, 10)

MediaKind = Literal["image", "video", "audio", "voice", "document", "sticker"]
MEDIA_KINDS: Final[tuple[MediaKind, ...]] = ("image", "video", "audio", "voice", "document", "sticker")
# Kinds WhatsApp shows no caption for.
CAPTIONLESS_KINDS: Final = frozenset({"audio", "voice", "sticker"})
# Kinds whose messages carry what only ffmpeg can measure (duration, a video frame as thumbnail).
FFMPEG_KINDS: Final = frozenset({"audio", "voice", "video"})
PresenceState = Literal["available", "unavailable", "composing", "recording", "paused"]
PRESENCE_STATES: Final[tuple[PresenceState, ...]] = (
    "available",
    "unavailable",
    "composing",
    "recording",
    "paused",
)
CHAT_PRESENCE_STATES: Final = frozenset({"composing", "recording", "paused"})  # these need ``to``
# IncomingMessage.type. Both engines deliver reactions as EV_REACTION, so a message is never a "reaction".
MESSAGE_TYPES: Final = (
    "text",
    "image",
    "video",
    "audio",
    "voice",
    "document",
    "sticker",
    "location",
    "contact",
    "poll",
    "reaction",
    "unknown",
)
POLL_MIN_OPTIONS: Final = 2
POLL_MAX_OPTIONS: Final = 12

ConnectMethod = Literal["qr", "code", "restore"]

# --- events (worker -> gateway), with their ``data`` --------------------------------------------
EV_QR: Final = "qr"  # {"code": "2@..."}
EV_PAIRING_CODE: Final = "pairing_code"  # {"code": "ABCD-EFGH"}
EV_CONNECTED: Final = "connected"  # {"jid": str, "pushName": str}
EV_DISCONNECTED: Final = "disconnected"  # {"reason": str}   (the engine keeps reconnecting)
EV_RECONNECTING: Final = "reconnecting"  # {"reason": str}: a stalled session was dropped (docs/engine.md)
EV_LOGGED_OUT: Final = "logged_out"  # {"reason": str}   (session files already removed)
EV_QR_TIMEOUT: Final = "qr_timeout"  # {}
EV_CONNECT_FAILURE: Final = "connect_failure"  # {"reason": str, "code": int|None, "retrying": bool}
EV_BANNED: Final = "banned"  # {"code": int, "expires": float|None}
# IncomingMessage. Reactions, edits, revokes and poll votes come as their own events, never as messages.
EV_MESSAGE: Final = "message"
EV_RECEIPT: Final = "receipt"  # Receipt
# {"contacts": [{"phone", "name"}], "messages"?: [IncomingMessage]} (messages: docs/messages.md)
EV_HISTORY_SYNC: Final = "history_sync"
EV_CALL_OFFER: Final = "call_offer"  # CallOffer
EV_REACTION: Final = "reaction"  # Reaction
EV_MESSAGE_EDITED: Final = "message_edited"  # MessageEdited
EV_MESSAGE_REVOKED: Final = "message_revoked"  # MessageRevoked
EV_POLL_VOTE: Final = "poll_vote"  # PollVote
EV_PRESENCE: Final = "presence"  # PresenceUpdate: a subscribed contact's presence, or typing in a chat
# Group changes (docs/groups.md): the device was added to or created a group, left or was removed, a
# group's settings or its participants changed.
EV_GROUP_JOINED: Final = "group_joined"  # GroupJoined
EV_GROUP_LEFT: Final = "group_left"  # GroupLeft
EV_GROUP_UPDATED: Final = "group_updated"  # GroupUpdated
EV_GROUP_PARTICIPANTS: Final = "group_participants"  # GroupParticipantsChanged
GROUP_EVENTS: Final = frozenset({EV_GROUP_JOINED, EV_GROUP_LEFT, EV_GROUP_UPDATED, EV_GROUP_PARTICIPANTS})

# What a device received: lost, it is lost for good (WhatsApp does not send it again), so it is journaled.
RECEIVED_EVENTS: Final = frozenset(
    {
        EV_MESSAGE,
        EV_RECEIPT,
        EV_HISTORY_SYNC,
        EV_CALL_OFFER,
        EV_REACTION,
        EV_MESSAGE_EDITED,
        EV_MESSAGE_REVOKED,
        EV_POLL_VOTE,
        *GROUP_EVENTS,
    }
)

RECEIPT_TYPES: Final = ("delivered", "read", "played")

# --- error codes a reply can carry (mapped to API errors by the gateway) --------------------------
E_DEVICE_NOT_FOUND: Final = "DEVICE_NOT_FOUND"  # no client for that token in the worker
E_DEVICE_NOT_CONNECTED: Final = "DEVICE_NOT_CONNECTED"
E_ALREADY_CONNECTED: Final = "DEVICE_ALREADY_CONNECTED"
E_INVALID_ARGUMENT: Final = "INVALID_ARGUMENT"
E_UNKNOWN_COMMAND: Final = "UNKNOWN_COMMAND"
E_ENGINE_FAILURE: Final = "ENGINE_FAILURE"  # the backend raised; message is safe to log, not to show
# A message id the engine does not hold (it keeps a bounded per-device cache of recent messages).
E_MESSAGE_NOT_FOUND: Final = "MESSAGE_NOT_FOUND"
# Audio, voice and video need ffmpeg/ffprobe on the worker's PATH (duration, thumbnail).
E_FFMPEG_UNAVAILABLE: Final = "FFMPEG_UNAVAILABLE"
# WhatsApp refuses messages to new contacts for a while (its "reachout timelock", error 463).
E_REACHOUT_LIMITED: Final = "REACHOUT_LIMITED"
E_HISTORY_SYNC_PENDING: Final = "HISTORY_SYNC_PENDING"  # a send failed before the first history sync ended
E_GROUP_NOT_FOUND: Final = "GROUP_NOT_FOUND"  # no such group, or the device is not in it
E_NOT_GROUP_ADMIN: Final = "NOT_GROUP_ADMIN"  # only the group's admins may do that
E_INVITE_INVALID: Final = "INVITE_INVALID"  # an invite that is malformed, revoked or expired
E_ALREADY_MEMBER: Final = "ALREADY_MEMBER"  # joining a group the device is in, following a followed channel
E_NEWSLETTER_NOT_FOUND: Final = "NEWSLETTER_NOT_FOUND"  # no such channel (or invite), or not followed
E_NOT_CHANNEL_ADMIN: Final = "NOT_CHANNEL_ADMIN"  # only a channel's owner and admins post in it


class NumberCheck(TypedDict):
    phone: str  # digits as asked
    isOnWhatsApp: bool
    jid: str  # "" when WhatsApp gave none


class MediaInfo(TypedDict):
    mimetype: str
    size: int  # bytes, as the sender declared them
    filename: str | None


# Functional form because "from" is a keyword.
IncomingMessage = TypedDict(
    "IncomingMessage",
    {
        "id": str,
        "from": str,  # phone JID when known, else the LID JID
        "chat": str,
        "pushName": str,
        "text": str,  # the text, or the caption of a media message, or the question of a poll
        "type": str,  # one of MESSAGE_TYPES
        "timestamp": float,
        "isGroup": bool,
        "fromMe": bool,
        "senderPhone": str,  # digits of the sender's phone number when known, else ""
        "caption": str | None,
        "media": MediaInfo | None,  # downloadable with CMD_DOWNLOAD_MEDIA while the engine holds it
        "replyTo": str | None,  # id of the quoted message
        "mentions": list[str],  # JIDs
        # True for a post in a channel the device follows (docs/channels.md); absent otherwise.
        "isNewsletter": NotRequired[bool],
        # Opaque to the gateway: what the engine needs to quote, edit, revoke or download the message once
        # its cache no longer holds it. The message store keeps it and hands it back as a command's
        # ``ref`` (docs/messages.md "Acting on stored messages"); sends answer one too.
        "ref": str,
    },
)

Reaction = TypedDict(
    "Reaction",
    {
        "id": str,
        "chat": str,
        "from": str,
        "targetId": str,
        "emoji": str,  # "" when the reaction was removed
        "timestamp": float,
        "isGroup": bool,
        "senderPhone": str,
        "isNewsletter": NotRequired[bool],  # True for a reaction in a channel; absent otherwise
    },
)

MessageEdited = TypedDict(
    "MessageEdited",
    {
        "id": str,  # the edited message
        "chat": str,
        "from": str,
        "text": str,
        "timestamp": float,
        "isGroup": bool,
        "senderPhone": str,
    },
)

MessageRevoked = TypedDict(
    "MessageRevoked",
    {
        "id": str,  # the revoked message
        "chat": str,
        "from": str,
        "timestamp": float,
        "isGroup": bool,
        "senderPhone": str,
    },
)

PollVote = TypedDict(
    "PollVote",
    {
        "pollId": str,
        "chat": str,
        "from": str,
        "options": list[str],  # option names; [] when the vote was withdrawn
        "timestamp": float,
        "isGroup": bool,
        "senderPhone": str,
    },
)

PresenceUpdate = TypedDict(
    "PresenceUpdate",
    {
        "from": str,  # phone JID when known, else the LID JID
        "state": str,  # one of PRESENCE_STATES
        "lastSeen": float | None,  # with "unavailable", when the contact shares it
        "chat": str | None,  # the chat of composing/recording/paused; None for the account's presence
        "timestamp": float,  # when the engine received it
    },
)

CallOffer = TypedDict(
    "CallOffer",
    {"from": str, "callId": str, "timestamp": float, "isVideo": bool, "isGroup": bool},
)


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A ``send_media`` request once its arguments have been checked for shape."""

    kind: MediaKind
    path: Path
    mimetype: str
    filename: str | None = None
    caption: str | None = None
    reply_to: str | None = None
    reply_ref: str | None = None  # the stored ``ref`` of ``reply_to``, for when the cache lost it


Receipt = TypedDict(
    "Receipt",
    {
        "type": str,  # one of RECEIPT_TYPES
        "messageIds": list[str],
        "from": str,  # phone JID when known
        "chat": str,
        "timestamp": float,
    },
)


@dataclass(frozen=True, slots=True)
class EventStamp:
    """A journaled event's identity (docs/durability.md): ack ``seq`` once committed; ``event_id``
    is the same on every replay."""

    seq: int
    event_id: str


class EngineError(Exception):
    """A command failed in a way the caller can act on; ``code`` is one of the ``E_*`` constants."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


EmitFn = Callable[[str, str, dict[str, Any]], None]
"""``emit(token, event, data)``: called by a backend on the worker's loop thread; never blocks."""


class EngineBackend(Protocol):
    """What a backend implements inside the worker. Every method runs on the worker's event loop; every
    declared command (engine/commands.py) runs through ``handler``."""

    name: str

    async def start(self, emit: EmitFn) -> None: ...

    def handler(self, cmd: str) -> Callable[..., Awaitable[Any]]:
        """The method that runs a declared command; E_UNKNOWN_COMMAND for any other name."""
        ...

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        """Backend-specific operations (the sandbox's control routes); others raise E_UNKNOWN_COMMAND."""
        ...

    async def close(self) -> None: ...


BackendFactory = Callable[[dict[str, Any]], Awaitable[EngineBackend]]
