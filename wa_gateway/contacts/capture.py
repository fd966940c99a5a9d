"""Which engine events reveal a contact, and under which phone number (docs/architecture.md "API contract").

Pure functions from ``EV_MESSAGE`` / ``EV_HISTORY_SYNC`` data (``wa_gateway.engine.contract``) to the
``(phone, name, source)`` rows a contact store upserts. They fix what the Go gateway got wrong
(docs/go-gateway.md §4): groups, status, broadcast lists, newsletters, our own messages and our own
number are not contacts, and a LID is never stored as if it were a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

from wa_gateway import vocabulary as v
from wa_gateway.contacts.model import SOURCE_HISTORY, SOURCE_MESSAGE, ContactUpsert

# E.164 caps a number at 15 digits; ASCII only, because Python's \d also matches other scripts' digits.
PHONE_PATTERN: Final = re.compile(r"[0-9]{1,15}", re.ASCII)
PHONE_SERVERS: Final = v.PHONE_SERVERS
# Chats that are not one person: groups, status and broadcast lists (`status@broadcast`, `…@broadcast`),
# channels.
NOT_A_PERSON_SERVERS: Final = v.NOT_A_PERSON_SERVERS


def split_jid(jid: str) -> tuple[str, str] | None:
    """``user.agent:device@server`` -> ``(user, server)``; None when it is not a JID."""
    user, at, server = jid.partition("@")
    if not at or not server:
        return None
    # whatsmeow's AD JIDs carry the agent after '.' and the device after ':' (e.g. `123:7@s.whatsapp.net`).
    user = user.partition(":")[0].partition(".")[0]
    return user, server


def phone_of_jid(jid: str) -> str | None:
    """The phone number of a phone-number JID, without device suffix; None for LIDs, groups and the rest."""
    parts = split_jid(jid)
    if parts is None or parts[1] not in PHONE_SERVERS:
        return None
    return parts[0] if PHONE_PATTERN.fullmatch(parts[0]) else None


def contact_from_message(
    message: Mapping[str, Any], own_phones: Collection[str] = ()
) -> ContactUpsert | None:
    """The sender of an incoming 1:1 message as a contact row, or None when the sender is not a contact.

    ``own_phones``: the device's own number(s) (the connected account's phone, see ``phone_of_jid``).
    """
    if message.get("fromMe") is True or message.get("isGroup") is True:
        return None
    sender = _text(message.get("from"))
    chat = _text(message.get("chat"))
    if _is_not_a_person(sender) or _is_not_a_person(chat):
        return None
    # A LID sender only becomes a contact when WhatsApp also told us its phone (SenderAlt, mappings).
    sender_phone = _text(message.get("senderPhone"))
    phone = sender_phone if PHONE_PATTERN.fullmatch(sender_phone) else phone_of_jid(sender)
    if phone is None or phone in own_phones:
        return None
    return (phone, _text(message.get("pushName")), SOURCE_MESSAGE)


def contacts_from_history(sync: Mapping[str, Any], own_phones: Collection[str] = ()) -> list[ContactUpsert]:
    """The 1:1 chats of a history-sync batch as contact rows, one per phone, in batch order.

    A phone listed twice keeps its last non-empty name, as the store's upsert rule would.
    """
    entries = sync.get("contacts")
    if not isinstance(entries, list):
        return []
    names: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        phone = _history_phone(_text(entry.get("phone")))
        if phone is None or phone in own_phones:
            continue
        name = _text(entry.get("name"))
        if name or phone not in names:
            names[phone] = name
    return [(phone, name, SOURCE_HISTORY) for phone, name in names.items()]


def new_contacts_payload(rows: Iterable[ContactUpsert], new_phones: Iterable[str]) -> list[dict[str, str]]:
    """``[{"name", "phone"}]`` for the phones a store reported as new: the data of ``contacts.new``
    (one item) and ``contacts.sync`` (the list), as the Go gateway shapes them (docs/go-gateway.md §5a)."""
    names: dict[str, str] = {}
    for phone, name, _ in rows:
        if name or phone not in names:
            names[phone] = name
    return [{"name": names.get(phone, ""), "phone": phone} for phone in new_phones]


def _history_phone(value: str) -> str | None:
    if "@" in value:
        return phone_of_jid(value)
    return value if PHONE_PATTERN.fullmatch(value) else None


def _is_not_a_person(jid: str) -> bool:
    parts = split_jid(jid)
    return parts is not None and parts[1] in NOT_A_PERSON_SERVERS


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
