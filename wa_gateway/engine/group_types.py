"""What the engine contract says about groups and channels (docs/groups.md, docs/channels.md)."""

from __future__ import annotations

from typing import Any, Final, TypedDict


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


GROUP_ACTIONS: Final = ("add", "remove", "promote", "demote")


class GroupParticipantResult(TypedDict):
    participant: str
    status: str  # "ok", or why not (docs/groups.md "Participant results")


class GroupJoined(TypedDict):
    jid: str
    subject: str
    by: str | None  # who added the device; None when it joined or created the group itself
    timestamp: float


class GroupLeft(TypedDict):
    jid: str
    by: str | None  # who removed the device; None when it left
    timestamp: float


class GroupUpdated(TypedDict):
    jid: str
    changes: dict[str, Any]  # any of subject, topic, announce, locked
    by: str | None
    timestamp: float


class GroupParticipantsChanged(TypedDict):
    jid: str
    action: str  # one of GROUP_ACTIONS
    participants: list[str]
    by: str | None
    timestamp: float


NEWSLETTER_ROLES: Final = ("owner", "admin", "subscriber", "guest")


class Newsletter(TypedDict):
    jid: str  # "<digits>@newsletter"
    name: str
    description: str
    subscribers: int
    role: str | None  # one of NEWSLETTER_ROLES; None when the device does not follow it
    muted: bool
    invite: str  # the code of its link https://whatsapp.com/channel/<code>


class NewsletterReactionCount(TypedDict):
    emoji: str
    count: int


class NewsletterPost(TypedDict):
    """One post of a channel as its history lists it (CMD_NEWSLETTER_MESSAGES)."""

    id: str | None  # the message id; None where the engine is not told it (docs/channels.md)
    serverId: int  # the channel's own sequence number of the post: what ``before`` pages by
    type: str  # one of MESSAGE_TYPES
    text: str
    caption: str | None
    media: dict[str, Any] | None  # MediaInfo
    timestamp: float | None
    views: int | None
    reactions: list[NewsletterReactionCount]
