"""What the /groups routes accept: group ids, participants, subjects, invites (docs/groups.md)."""

from __future__ import annotations

import re
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.envelope import utc_timestamp
from wa_gateway.messaging.recipients import Recipients, group_jid

MAX_SUBJECT_CHARS: Final = 100
MAX_TOPIC_CHARS: Final = 2048
# WhatsApp's group size limit is larger, but one request changes at most this many people.
MAX_PARTICIPANTS: Final = 256
INVITE_PREFIX: Final = "https://chat.whatsapp.com/"
# Invite codes are WhatsApp's: 20-24 letters and digits; the sandbox's use the base64url alphabet.
INVITE_CODE_RE: Final = re.compile(r"[A-Za-z0-9_-]{6,64}")


def path_group(raw: str) -> str:
    jid = group_jid(raw)
    if jid is None:
        raise errors.ApiError(errors.INVALID_GROUP)
    return jid


def subject(raw: str) -> str:
    if not raw.strip() or len(raw) > MAX_SUBJECT_CHARS:
        raise errors.ApiError(errors.INVALID_GROUP_SUBJECT)
    return raw


def topic(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_TOPIC_CHARS:
        raise errors.ApiError(errors.INVALID_GROUP_TOPIC)
    return raw


def participants(recipients: Recipients, raw: Any) -> list[str]:
    """People by phone number or phone/LID JID, each once, in order."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PARTICIPANTS:
        raise errors.ApiError(errors.INVALID_GROUP_PARTICIPANTS)
    return recipients.users(raw, errors.INVALID_GROUP_PARTICIPANTS)


def invite_code(raw: str) -> str:
    """The code of an invite link, or the code itself."""
    code = raw.strip().removeprefix(INVITE_PREFIX).removeprefix("chat.whatsapp.com/").rstrip("/")
    if not INVITE_CODE_RE.fullmatch(code):
        raise errors.ApiError(errors.INVALID_INVITE)
    return code


def details(result: Any) -> dict[str, Any]:
    """GroupDetails from the engine, with the API's ISO 8601 times."""
    found = dict(result) if isinstance(result, dict) else {}
    created = found.get("createdAt")
    found["createdAt"] = (
        utc_timestamp(float(created)) if isinstance(created, int | float) and created else None
    )
    return found


def requests(found: Any) -> list[dict[str, Any]]:
    """Join requests with the API's ISO 8601 times."""
    if not isinstance(found, list):
        return []
    out = []
    for entry in found:
        if not isinstance(entry, dict):
            continue
        when = entry.get("requestedAt")
        at = utc_timestamp(float(when)) if isinstance(when, int | float) and when else None
        out.append({"jid": entry.get("jid"), "requestedAt": at})
    return out
