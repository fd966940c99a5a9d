"""The past messages of a history-sync blob, as ``IncomingMessage`` objects for the message store.

whatsmeow hands the blob over as ``events.HistorySync`` (whatsmeow types/events/events.go); each
conversation's ``messages`` are ``HistorySyncMsg{message: WebMessageInfo}``, whose ``key`` names the chat
(``remoteJID``), the direction (``fromMe``), the id and, in groups, the author (``participant``)
(waHistorySync/WAWebProtobufsHistorySync.proto, waWeb/WAWebProtobufsWeb.proto). docs/messages.md.
"""

from __future__ import annotations

from typing import Any, Final

from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]

from wa_gateway import vocabulary as v
from wa_gateway.backends.neonize.cached import ref_of
from wa_gateway.backends.neonize.events import PN_SERVER, bare_jid_string, parse_jid, phone_of, seconds
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
        "ref": _ref(info, chat, author if not from_me else own, from_me, is_group),
    }


def _ref(info: Any, chat: str, author: str, from_me: bool, is_group: bool) -> str:
    """The message as the neonize event it would have been live, for acting on it later (``cached.py``)."""
    try:
        source = proto.MessageSource(
            Chat=parse_jid(chat), Sender=parse_jid(author), IsFromMe=from_me, IsGroup=is_group
        )
    except ValueError:
        return ""
    when = int(seconds(info.messageTimestamp) * 1000)
    event = proto.Message(Info=proto.MessageInfo(MessageSource=source, ID=info.key.ID, Timestamp=when))
    event.Message.CopyFrom(info.message)
    return ref_of(event)
