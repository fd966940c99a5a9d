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

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypedDict

# --- commands -------------------------------------------------------------------------------------
CMD_CONNECT: Final = "connect"  # {token, method: "qr"|"code"|"restore", device_name} -> {"paired": bool}
CMD_DISCONNECT: Final = "disconnect"  # {token} -> None   (keeps the session; no auto-reconnect)
CMD_LOGOUT: Final = "logout"  # {token} -> None   (unlinks when possible; always removes session files)
# {token, to: jid, text, typing_ms, reply_to: str|None (id to quote), mentions: [jid]}
#   -> {"id": str, "timestamp": float}
CMD_SEND_TEXT: Final = "send_text"
CMD_CHECK_NUMBERS: Final = "check_numbers"  # {token, phones: [digits]} -> {"results": [NumberCheck]}
CMD_MARK_READ: Final = "mark_read"  # {token, chat: jid, sender: jid|None, ids: [str]} -> None
CMD_LIST_SESSIONS: Final = "list_sessions"  # {} -> {"sessions": [{"token", "paired": bool}]}
CMD_STATUS: Final = "status"  # {} -> {"devices": [{"token", "status", "jid", "pushName"}]}
CMD_SANDBOX: Final = "sandbox"  # {op, token?, ...} -> backend-specific (sandbox control routes only)
CMD_SHUTDOWN: Final = "shutdown"  # {} -> None; the worker stops every client and exits 0
# {token, to, kind, path, mimetype, filename|None, caption|None, reply_to|None, typing_ms} -> {id, timestamp};
# path is a file under DATA_DIR/media/outgoing/ that the gateway wrote and deletes after the reply.
CMD_SEND_MEDIA: Final = "send_media"
# {token, chat, message_id, emoji, sender|None} -> {id, timestamp}; emoji "" removes the reaction. A message
# the engine does not hold is E_MESSAGE_NOT_FOUND unless ``sender`` (its author's JID) is given.
CMD_REACT: Final = "react"
CMD_EDIT: Final = "edit"  # {token, chat, message_id, text} -> {id, timestamp}; own messages only
CMD_REVOKE: Final = "revoke"  # {token, chat, message_id} -> {id, timestamp}; for everyone, own messages
CMD_SEND_POLL: Final = "send_poll"  # {token, to, question, options: [str], multiple: bool} -> {id, timestamp}
CMD_SET_PRESENCE: Final = "set_presence"  # {token, to|None, state: PresenceState} -> None
CMD_LIST_GROUPS: Final = "list_groups"  # {token} -> {"groups": [GroupSummary]}
CMD_GROUP_INFO: Final = "group_info"  # {token, jid} -> GroupDetails; unknown group: E_INVALID_ARGUMENT
# {token, message_id} -> {path, mimetype, filename|None, size}: written to DATA_DIR/media/incoming/<token>/
CMD_DOWNLOAD_MEDIA: Final = "download_media"
CMD_REJECT_CALL: Final = "reject_call"  # {token, from: jid, call_id} -> None
# {token, to: jid} -> None; afterwards the contact's online/offline arrives as EV_PRESENCE (docs/presence.md)
CMD_SUBSCRIBE_PRESENCE: Final = "subscribe_presence"
# {token, text, background_argb: int|None, font: int|None} -> {id, timestamp}: a text status post
CMD_POST_STATUS: Final = "post_status"
# {token, kind: "image"|"video", path, mimetype, caption|None} -> {id, timestamp}; path as CMD_SEND_MEDIA
CMD_POST_STATUS_MEDIA: Final = "post_status_media"
# Status posts are messages to this chat; contacts' posts arrive as EV_MESSAGE with it as "chat".
STATUS_CHAT: Final = "status@broadcast"
STATUS_MEDIA_KINDS: Final = ("image", "video")
# WhatsApp's status text fonts (waE2E ExtendedTextMessage.FontType).
STATUS_FONTS: Final = (0, 1, 2, 6, 7, 8, 9, 10)
# {} -> {"replayed": n}: the worker sends again, once, the journaled events earlier runs left unacked
# (docs/durability.md); the gateway asks once it knows the devices, so none is dropped as unknown.
CMD_REPLAY_EVENTS: Final = "replay_events"

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
EV_HISTORY_SYNC: Final = "history_sync"  # {"contacts": [{"phone", "name"}]}
EV_CALL_OFFER: Final = "call_offer"  # CallOffer
EV_REACTION: Final = "reaction"  # Reaction
EV_MESSAGE_EDITED: Final = "message_edited"  # MessageEdited
EV_MESSAGE_REVOKED: Final = "message_revoked"  # MessageRevoked
EV_POLL_VOTE: Final = "poll_vote"  # PollVote
EV_PRESENCE: Final = "presence"  # PresenceUpdate: a subscribed contact's presence, or typing in a chat

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


class GroupSummary(TypedDict):
    jid: str
    subject: str
    participants: int


class GroupParticipant(TypedDict):
    jid: str  # phone JID when known, else as WhatsApp gave it (LID)
    phone: str | None
    isAdmin: bool
    isSuperAdmin: bool


class GroupDetails(TypedDict):
    jid: str
    subject: str
    topic: str
    owner: str | None
    createdAt: float | None
    participants: list[GroupParticipant]


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A ``send_media`` request once its arguments have been checked for shape."""

    kind: MediaKind
    path: Path
    mimetype: str
    filename: str | None = None
    caption: str | None = None
    reply_to: str | None = None


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
    """What a backend implements inside the worker. Every method runs on the worker's event loop."""

    name: str

    async def start(self, emit: EmitFn) -> None: ...

    async def connect(self, token: str, method: ConnectMethod, device_name: str) -> dict[str, Any]: ...

    async def disconnect(self, token: str) -> None: ...

    async def logout(self, token: str) -> None: ...

    async def send_text(
        self,
        token: str,
        to: str,
        text: str,
        typing_ms: int,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
    ) -> dict[str, Any]: ...

    async def check_numbers(self, token: str, phones: list[str]) -> list[NumberCheck]: ...

    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None: ...

    async def send_media(
        self, token: str, to: str, media: OutgoingMedia, typing_ms: int
    ) -> dict[str, Any]: ...

    async def react(
        self, token: str, chat: str, message_id: str, emoji: str, sender: str | None
    ) -> dict[str, Any]: ...

    async def edit(self, token: str, chat: str, message_id: str, text: str) -> dict[str, Any]: ...

    async def revoke(self, token: str, chat: str, message_id: str) -> dict[str, Any]: ...

    async def send_poll(
        self, token: str, to: str, question: str, options: list[str], multiple: bool
    ) -> dict[str, Any]: ...

    async def set_presence(self, token: str, to: str | None, state: PresenceState) -> None: ...

    async def list_groups(self, token: str) -> list[GroupSummary]: ...

    async def group_info(self, token: str, jid: str) -> GroupDetails: ...

    async def download_media(self, token: str, message_id: str) -> dict[str, Any]: ...

    async def reject_call(self, token: str, caller: str, call_id: str) -> None: ...

    async def list_sessions(self) -> list[dict[str, Any]]: ...

    async def subscribe_presence(self, token: str, to: str) -> None: ...

    async def post_status(
        self, token: str, text: str, background_argb: int | None, font: int | None
    ) -> dict[str, Any]: ...

    async def post_status_media(self, token: str, media: OutgoingMedia) -> dict[str, Any]: ...

    async def status(self) -> list[dict[str, Any]]: ...

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        """Backend-specific operations (the sandbox's control routes); others raise E_UNKNOWN_COMMAND."""
        ...

    async def close(self) -> None: ...


BackendFactory = Callable[[dict[str, Any]], Awaitable[EngineBackend]]
