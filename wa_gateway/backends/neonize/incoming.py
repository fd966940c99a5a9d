"""Pure translation of what people send (the content of neonize ``Message`` events) into contract data.

One whatsmeow message event is one of: a message (text, media, poll, ...), a reaction, an edit or a revoke
(protocol messages), a poll vote (encrypted, see ``neonize_inbound``), or signalling that is nobody's
message (key distribution, history-sync notices).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # type: ignore[import-untyped]
    Message as WAMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ProtocolMessage,
)

from wa_gateway import vocabulary as v
from wa_gateway.backends.neonize.events import LID_SERVER, jid_string, resolve_person, seconds

BROADCAST_SERVER: Final = v.BROADCAST_SERVER
NEWSLETTER_SERVER: Final = v.NEWSLETTER_SERVER
Action = Literal["message", "reaction", "edit", "revoke", "poll_vote"]

# Content fields of waE2E.Message -> the contract's message type; the first one present wins.
MESSAGE_TYPES: Final = {
    "conversation": "text",
    "extendedTextMessage": "text",
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",  # "voice" when it is push-to-talk
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "locationMessage": "location",
    "liveLocationMessage": "location",
    "contactMessage": "contact",
    "contactsArrayMessage": "contact",
    "pollCreationMessage": "poll",
    "pollCreationMessageV2": "poll",
    "pollCreationMessageV3": "poll",
    "pollCreationMessageV5": "poll",
    "pollCreationMessageV6": "poll",
    # An event invitation has no type of its own in the contract; its name reads as text.
    "eventMessage": "text",
}
MEDIA_FIELDS: Final = (
    "imageMessage",
    "videoMessage",
    "ptvMessage",
    "audioMessage",
    "documentMessage",
    "stickerMessage",
)
POLL_FIELDS: Final = (
    "pollCreationMessage",
    "pollCreationMessageV2",
    "pollCreationMessageV3",
    "pollCreationMessageV5",
    "pollCreationMessageV6",
)
# Signalling that rides on Message events but is nothing a person sent. An album's parent only
# announces how many items follow; each item comes as its own message (docs/engine.md, "Albums").
SILENT_FIELDS: Final = frozenset(
    {"protocolMessage", "senderKeyDistributionMessage", "messageContextInfo", "albumMessage"}
)
# FutureProofMessage wrappers whatsmeow's UnwrapRaw leaves in place (docs/engine.md, "Wrapped messages").
WRAPPER_FIELDS: Final = (
    "associatedChildMessage",
    "groupStatusMessage",
    "groupStatusMessageV2",
    "pollCreationMessageV4",
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)


def unwrap(message: Any) -> Any:
    for _ in range(4):
        for field in WRAPPER_FIELDS:
            wrapper = getattr(message, field)
            if message.HasField(field) and wrapper.HasField("message"):
                message = wrapper.message
                break
        else:
            return message
    return message


def downloadable(message: Any) -> Any:
    """What whatsmeow's DownloadAny can fetch: the media at the top level, a round video as a video.

    DownloadAny reads only the top-level image/video/audio/document/sticker fields (whatsmeow
    download.go), so wrappers are removed and a ptvMessage, which has the video's fields, is renamed.
    """
    content = unwrap(message)
    if content.HasField("ptvMessage"):
        return WAMessage(videoMessage=content.ptvMessage)
    return content


def _first(message: Any, fields: tuple[str, ...]) -> tuple[str, Any] | None:
    for field in fields:
        if message.HasField(field):
            return field, getattr(message, field)
    return None


def message_text(message: Any) -> str:
    message = unwrap(message)
    if message.HasField("conversation"):
        return str(message.conversation)
    for field, attribute in (
        ("extendedTextMessage", "text"),
        ("imageMessage", "caption"),
        ("videoMessage", "caption"),
        ("documentMessage", "caption"),
    ):
        if message.HasField(field):
            return str(getattr(getattr(message, field), attribute))
    poll = _first(message, POLL_FIELDS)
    if poll is not None:
        return str(poll[1].name)
    return str(message.eventMessage.name) if message.HasField("eventMessage") else ""


def message_type(message: Any) -> str | None:
    """The contract type, or None for pure signalling (protocol messages, key distribution)."""
    content = unwrap(message)
    names = [field.name for field, _ in content.ListFields()]
    for name in names:
        if name in MESSAGE_TYPES:
            if name == "audioMessage" and content.audioMessage.PTT:
                return "voice"
            return MESSAGE_TYPES[name]
    if all(name in SILENT_FIELDS for name in names):
        return None
    return "unknown"


def action(message: Any) -> Action | None:
    """What a message event is about; None for signalling nobody needs to hear of."""
    content = unwrap(message)
    if content.HasField("reactionMessage"):
        return "reaction"
    if content.HasField("pollUpdateMessage"):
        return "poll_vote"
    if content.HasField("protocolMessage"):
        if not content.protocolMessage.HasField("type"):
            return None  # proto2 would read the unset type as REVOKE, its zero value
        kind = content.protocolMessage.type
        if kind == ProtocolMessage.MESSAGE_EDIT:
            return "edit"
        if kind == ProtocolMessage.REVOKE:
            return "revoke"
    return "message" if message_type(message) is not None else None


def media_info(message: Any) -> dict[str, Any] | None:
    found = _first(unwrap(message), MEDIA_FIELDS)
    if found is None:
        return None
    field, media = found
    filename = str(media.fileName) if field == "documentMessage" and media.fileName else None
    return {"mimetype": str(media.mimetype), "size": int(media.fileLength), "filename": filename}


def caption(message: Any) -> str | None:
    found = _first(unwrap(message), ("imageMessage", "videoMessage", "documentMessage"))
    if found is None:
        return None
    return str(found[1].caption) or None


def context_info(message: Any) -> Any | None:
    """The ContextInfo of the message's content (quote, mentions), when it has one."""
    content = unwrap(message)
    for field, value in content.ListFields():
        if field.message_type is not None and "contextInfo" in field.message_type.fields_by_name:
            return value.contextInfo if value.HasField("contextInfo") else None
    return None


def poll_options(message: Any) -> tuple[tuple[str, ...], bool] | None:
    """(option names, several may be chosen) of a poll."""
    found = _first(unwrap(message), POLL_FIELDS)
    if found is None:
        return None
    poll = found[1]
    return tuple(str(option.optionName) for option in poll.options), poll.selectableOptionsCount != 1


def chat_alternative(source: Any, lid_to_pn: dict[str, str]) -> str:
    """The phone JID of a LID-addressed 1:1 chat, when known; "" otherwise."""
    if source.Chat.Server != LID_SERVER:
        return ""
    alt = source.RecipientAlt if source.IsFromMe else source.SenderAlt
    resolved, phone = resolve_person(source.Chat, alt, lid_to_pn)
    return resolved if phone else ""


def _about(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any]:
    """The fields every event about someone's action carries."""
    source = event.Info.MessageSource
    sender, phone = resolve_person(source.Sender, source.SenderAlt, lid_to_pn)
    return {
        "chat": jid_string(source.Chat),
        "from": sender,
        "timestamp": seconds(event.Info.Timestamp),
        # whatsmeow marks broadcast chats (status@broadcast, broadcast lists) IsGroup too; they are not.
        "isGroup": bool(source.IsGroup) and source.Chat.Server != BROADCAST_SERVER,
        "senderPhone": phone,
    }


def in_channel(event: Any) -> dict[str, bool]:
    """``isNewsletter`` for a post or reaction in a channel, whose chat and sender whatsmeow both names
    with the channel's JID (whatsmeow message.go parseMessageSource); nothing otherwise."""
    return {"isNewsletter": True} if event.Info.MessageSource.Chat.Server == NEWSLETTER_SERVER else {}


def incoming_message(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any] | None:
    kind = message_type(event.Message)
    if kind is None:
        return None
    info = event.Info
    about = _about(event, lid_to_pn)
    context = context_info(event.Message)
    mentions = [lid_to_pn.get(str(jid), str(jid)) for jid in context.mentionedJID] if context else []
    return {
        **in_channel(event),
        "id": str(info.ID),
        "from": about["from"],
        "chat": about["chat"],
        "pushName": str(info.Pushname),
        "text": message_text(event.Message),
        "type": kind,
        "timestamp": about["timestamp"],
        "isGroup": about["isGroup"],
        "fromMe": bool(info.MessageSource.IsFromMe),
        "senderPhone": about["senderPhone"],
        "caption": caption(event.Message),
        "media": media_info(event.Message),
        "replyTo": (str(context.stanzaID) or None) if context is not None else None,
        "mentions": mentions,
    }


def reaction(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any]:
    content = unwrap(event.Message).reactionMessage
    return {
        "id": str(event.Info.ID),
        "targetId": str(content.key.ID),
        "emoji": str(content.text),
        **_about(event, lid_to_pn),
        **in_channel(event),
    }


def edited(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any]:
    protocol = unwrap(event.Message).protocolMessage
    return {
        "id": str(protocol.key.ID),
        "text": message_text(protocol.editedMessage),
        **_about(event, lid_to_pn),
    }


def revoked(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any]:
    return {"id": str(unwrap(event.Message).protocolMessage.key.ID), **_about(event, lid_to_pn)}


def poll_vote(event: Any, options: list[str], lid_to_pn: dict[str, str]) -> dict[str, Any]:
    return {"pollId": poll_id(event), "options": options, **_about(event, lid_to_pn)}


def poll_id(event: Any) -> str:
    return str(unwrap(event.Message).pollUpdateMessage.pollCreationMessageKey.ID)
