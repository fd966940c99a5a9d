"""What a stored message and a chat are, the cursor that pages them, and the store's interface."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from wa_gateway.envelope import utc_timestamp

Source = Literal["live", "history", "sent"]
# A message the device sent starts as "sent"; receipts move it on. Incoming ones stay "received".
STATUS_RECEIVED: Final = "received"
STATUS_SENT: Final = "sent"
STATUS_RANK: Final = {"delivered": 1, "read": 2, "played": 3}
_CURSOR: Final = re.compile(r"(-?[0-9]{1,19}):([0-9]{1,19})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a device's message order: ``(ts_ms, seq)`` (docs/messages.md "Cursors")."""

    ts_ms: int
    seq: int

    def encode(self) -> str:
        raw = f"{self.ts_ms}:{self.seq}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        if not text or len(text) > 64:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            return None
        match = _CURSOR.fullmatch(raw)
        if match is None:
            return None
        return cls(int(match[1]), int(match[2]))


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message as it arrives at the store."""

    id: str
    chat: str
    sender: str
    from_me: bool
    is_group: bool
    type: str
    text: str
    timestamp: float
    source: Source
    push_name: str = ""
    caption: str | None = None
    media: dict[str, Any] | None = None
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    ref: str = ""  # the engine's reference (IncomingMessage "ref"), "" when it gave none


@dataclass(frozen=True, slots=True)
class Reaction:
    sender: str
    emoji: str
    ts_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"from": self.sender, "emoji": self.emoji, "timestamp": utc_timestamp(self.ts_ms / 1000)}


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    id: str
    chat: str
    sender: str
    from_me: bool
    is_group: bool
    type: str
    text: str
    caption: str | None
    media: dict[str, Any] | None
    reply_to: str | None
    mentions: list[str]
    push_name: str
    ts_ms: int
    source: str
    status: str
    edited_ms: int | None
    revoked_ms: int | None
    # What the engine needs to act on the message without its cache; never shown (docs/messages.md).
    ref: str | None = None
    reactions: list[Reaction] = field(default_factory=list)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.ts_ms, self.seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat": self.chat,
            "from": self.sender,
            "fromMe": self.from_me,
            "isGroup": self.is_group,
            "type": self.type,
            "text": self.text,
            "caption": self.caption,
            "media": self.media,
            "replyTo": self.reply_to,
            "mentions": self.mentions,
            "pushName": self.push_name,
            "timestamp": utc_timestamp(self.ts_ms / 1000),
            "source": self.source,
            "status": self.status,
            "editedAt": _when(self.edited_ms),
            "revokedAt": _when(self.revoked_ms),
            "reactions": [reaction.to_json() for reaction in self.reactions],
            "cursor": self.cursor.encode(),
        }


@dataclass(frozen=True, slots=True)
class Chat:
    jid: str
    name: str | None
    is_group: bool
    unread: int
    last: StoredMessage

    def to_json(self) -> dict[str, Any]:
        return {
            "jid": self.jid,
            "name": self.name,
            "isGroup": self.is_group,
            "unread": self.unread,
            "lastMessage": self.last.to_json(),
        }


@dataclass(frozen=True, slots=True)
class PageQuery:
    chat: str | None = None
    before: Cursor | None = None
    after: Cursor | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[StoredMessage]
    next_cursor: Cursor | None


class MessageStoreError(Exception):
    """The store could not do what was asked (closed, disk, database); details are for the log."""


class MessageStore(Protocol):
    """Every device's messages. sqlite today; small so PostgreSQL can stand in (docs/architecture.md)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add(self, token: str, messages: Sequence[NewMessage], *, unread: bool) -> int:
        """Store new messages (a known id is kept as it is); returns how many were new. ``unread``:
        incoming ones count as unread in their chat (live messages, not history)."""
        ...

    async def receipt(self, token: str, ids: Sequence[str], status: str) -> None: ...

    async def edit(self, token: str, message_id: str, text: str, at: float) -> None: ...

    async def revoke(self, token: str, message_id: str, at: float) -> None: ...

    async def react(self, token: str, message_id: str, sender: str, emoji: str, at: float) -> None: ...

    async def mark_read(self, token: str, chat: str) -> None: ...

    async def chats(self, token: str, limit: int) -> list[Chat]: ...

    async def page(self, token: str, query: PageQuery) -> Page: ...

    async def get(self, token: str, message_id: str) -> StoredMessage | None: ...

    async def prune(self, older_than: float) -> int:
        """Remove messages and reactions older than ``older_than`` (Unix seconds); returns how many
        messages went."""
        ...

    async def delete_device(self, token: str) -> None: ...


def _when(ms: int | None) -> str | None:
    return utc_timestamp(ms / 1000) if ms is not None else None
