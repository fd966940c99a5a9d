"""Who a message goes to: a phone number, or a phone, LID or group JID, always as a full JID for the engine.

Every pattern uses ``[0-9]`` and ``re.fullmatch``: Python's ``\\d`` takes Unicode digits and ``$`` a trailing
newline (docs/go-gateway.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from wa_gateway import errors
from wa_gateway import vocabulary as v
from wa_gateway.phone import PhoneRules, user_jid

# E.164 numbers have at most 15 digits; whatsmeow writes phone JIDs as bare digits.
PHONE_JID_RE: Final = re.compile(f"[0-9]{{7,15}}@{re.escape(v.USER_SERVER)}")
LID_JID_RE: Final = re.compile(f"[0-9]{{1,20}}@{v.LID_SERVER}")
# New groups are "<18 digits>@g.us"; old ones "<creator phone>-<unix time>@g.us".
GROUP_JID_RE: Final = re.compile(f"[0-9]{{1,20}}(?:-[0-9]{{1,20}})?@{re.escape(v.GROUP_SERVER)}")
GROUP_SUFFIX: Final = f"@{v.GROUP_SERVER}"
# A WhatsApp channel (docs/channels.md): text and media can be posted to one the device administers.
CHANNEL_JID_RE: Final = re.compile(f"[0-9]{{1,24}}@{re.escape(v.NEWSLETTER_SERVER)}")
MAX_MENTIONS: Final = 1024


def is_group_jid(jid: str) -> bool:
    return GROUP_JID_RE.fullmatch(jid) is not None


def is_user_jid(jid: str) -> bool:
    return PHONE_JID_RE.fullmatch(jid) is not None or LID_JID_RE.fullmatch(jid) is not None


def group_jid(raw: str) -> str | None:
    """A group id from a path: the full JID, or the part before ``@g.us``."""
    jid = raw if "@" in raw else raw + GROUP_SUFFIX
    return jid if is_group_jid(jid) else None


class Recipients:
    def __init__(self, phones: PhoneRules) -> None:
        self._phones = phones

    def user(self, raw: str) -> str | None:
        """A person: a phone number (normalised as the seed does) or a phone/LID JID."""
        if "@" in raw:
            return raw if is_user_jid(raw) else None
        phone = self._phones.normalise(raw)
        return user_jid(phone) if phone is not None else None

    def chat(self, raw: str) -> str | None:
        """A person or a group."""
        if is_group_jid(raw):
            return raw
        return self.user(raw)

    def to(self, raw: str) -> str:
        """``to`` of a send: a bad phone number keeps the seed's error, a bad JID says what is accepted."""
        jid = self.chat(raw)
        if jid is None:
            raise errors.ApiError(errors.INVALID_RECIPIENT if "@" in raw else errors.INVALID_PHONE)
        return jid

    def text_to(self, raw: str) -> str:
        """``to`` of a text or media message: a person, a group, or a channel."""
        return raw if CHANNEL_JID_RE.fullmatch(raw) else self.to(raw)

    def required_chat(self, raw: str) -> str:
        if not raw:
            raise errors.ApiError(errors.MISSING_CHAT)
        jid = self.chat(raw)
        if jid is None:
            raise errors.ApiError(errors.INVALID_CHAT)
        return jid

    def mentions(self, raw: Any) -> list[str]:
        """``mentions``: phone numbers or user JIDs, deduplicated in order."""
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > MAX_MENTIONS:
            raise errors.ApiError(errors.INVALID_MENTIONS)
        jids: dict[str, None] = {}
        for entry in raw:
            jid = self.user(entry) if isinstance(entry, str) else None
            if jid is None:
                raise errors.ApiError(errors.INVALID_MENTIONS)
            jids[jid] = None
        return list(jids)


def with_mention_tags(text: str, mentions: Iterable[str]) -> str:
    """WhatsApp highlights a mention only where the text says ``@<digits>``; add the missing ones."""
    missing = []
    for jid in mentions:
        digits = jid.split("@", 1)[0]
        if re.search(rf"@{digits}(?![0-9])", text) is None:
            missing.append(f"@{digits}")
    return f"{text} {' '.join(missing)}" if missing else text
