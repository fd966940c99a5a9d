"""The past messages of a history-sync blob, as ``IncomingMessage`` objects for the message store.

whatsmeow hands the blob over as ``events.HistorySync`` (whatsmeow types/events/events.go); each
conversation's ``messages`` are ``HistorySyncMsg{message: WebMessageInfo}``, whose ``key`` names the chat
(``remoteJID``), the direction (``fromMe``), the id and, in groups, the author (``participant``)
(waHistorySync/WAWebProtobufsHistorySync.proto, waWeb/WAWebProtobufsWeb.proto). docs/messages.md.
"""

from __future__ import annotations

from typing import Any, Final

from wa_gateway import vocabulary as v
from wa_gateway.backends.neonize.events import PN_SERVER, bare_jid_string, phone_of, seconds
from wa_gateway.backends.neonize.incoming import (
    action,
    caption,
    context_info,
    media_info,
    message_text,
    message_type,
)

GROUP_SERVER: Final = v.GROUP_SERVER
# Chats that are not conversations: status posts, broadcast lists, channels.
_SKIPPED_SERVERS: Final = frozenset({v.BROADCAST_SERVER, v.NEWSLETTER_SERVER})


def history_messages(data: Any, own_phone: str, lid_to_pn: dict[str, str]) -> list[dict[str, Any]]:
    own = f"{own_phone}@{PN_SERVER}"
    found: list[dict[str, Any]] = []
    for conversation in data.conversations:
        chat = bare_jid_string(str(conversation.ID))
        server = chat.partition("@")[2]
        if server in _SKIPPED_SERVERS:
            continue
        is_group = server == GROUP_SERVER
        for entry in conversation.messages:
            message = _message(entry.message, chat, is_group, own, lid_to_pn)
            if message is not None:
                found.append(message)
    return found


def _message(
    info: Any, chat: str, is_group: bool, own: str, lid_to_pn: dict[str, str]
) -> dict[str, Any] | None:
    key = info.key
    if not key.ID or not info.HasField("message") or action(info.message) != "message":
        return None  # stubs (joins, calls), reactions, edits: not messages of their own
    kind = message_type(info.message)
    if kind is None:
        return None
    from_me = bool(key.fromMe)
    author = str(key.participant or info.participant) if is_group else chat
    sender = own if from_me else lid_to_pn.get(bare_jid_string(author), bare_jid_string(author))
    context = context_info(info.message)
    mentions = [lid_to_pn.get(str(jid), str(jid)) for jid in context.mentionedJID] if context else []
    return {
        "id": str(key.ID),
        "from": sender,
        "chat": chat,
        "pushName": str(info.pushName),
        "text": message_text(info.message),
        "type": kind,
        "timestamp": seconds(info.messageTimestamp),
        "isGroup": is_group,
        "fromMe": from_me,
        "senderPhone": phone_of(sender),
        "caption": caption(info.message),
        "media": media_info(info.message),
        "replyTo": (str(context.stanzaID) or None) if context is not None else None,
        "mentions": mentions,
    }
