"""What a cached neonize message is made of, and the ``ref`` it outlives the cache as.

A cache entry's payload is the serialized neonize ``Message`` event (Info + waE2E content). Its ``ref`` is
the same event trimmed to what acting on it later takes, base64-encoded, which the gateway's message store
keeps and hands back (docs/messages.md "Acting on stored messages"):

- quoting: Info.ID, the chat and author (``MessageSource``, with their alternative JIDs) and the content,
  which neonize's ``_make_quoted_message`` copies into ``ContextInfo{stanzaID, participant, quotedMessage}``;
- editing and revoking: the chat, the author, ``IsFromMe`` and the content's kind (whatsmeow send.go
  BuildEdit / BuildRevoke name the message by chat and id; a caption edit resends the media fields);
- downloading: the media fields whatsmeow's ``Download`` reads (download.go: directPath, mediaKey,
  fileEncSHA256, fileSHA256, fileLength, mimetype and the URL), never the bytes.

Thumbnails, sidecars and the content's contextInfo (a quote inside it can be as large as the message) are
dropped: quoting clears the quoted contextInfo anyway, and a caption edit sends none.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # type: ignore[import-untyped]
    Message as WAMessage,
)

from wa_gateway.backends.neonize import incoming
from wa_gateway.backends.neonize.events import fill_required
from wa_gateway.backends.neonize.media import MEDIA_FIELDS
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.message_cache import CachedMessage

_DROPPED: Final = frozenset(
    {
        "contextInfo",
        "JPEGThumbnail",
        "pngThumbnail",
        "thumbnailDirectPath",
        "thumbnailSHA256",
        "thumbnailEncSHA256",
        "firstScanSidecar",
        "scansSidecar",
        "scanLengths",
        "streamingSidecar",
        "firstFrameSidecar",
        "interactiveAnnotations",
        "annotations",
        "waveform",
    }
)


def cache_entry(event: Any, data: dict[str, Any], chat_alt: str) -> CachedMessage:
    """What it takes to quote, react to, edit, revoke or download a message later: the event itself."""
    # Raw repeats the message before unwrapping; the rest is all neonize's builders and Go need.
    kept = fill_required(proto.Message(Info=event.Info, Message=event.Message))
    options = incoming.poll_options(event.Message)
    return CachedMessage(
        id=data["id"],
        chat=data["chat"],
        chat_alt=chat_alt,
        sender=data["from"],
        from_me=data["fromMe"],
        kind=data["type"],
        timestamp=data["timestamp"],
        text=data["text"],
        media=data["media"],
        poll_options=options[0] if options else (),
        poll_multiple=options[1] if options else False,
        payload=kept.SerializePartialToString(),
    )


def _trim(message: Any) -> None:
    for field, value in message.ListFields():
        if field.name in _DROPPED:
            message.ClearField(field.name)
        elif field.message_type is not None and not field.is_repeated:
            _trim(value)


def ref_of(event: Any) -> str:
    """The ``ref`` of a neonize ``Message`` event (or of a cache entry's payload, decoded)."""
    info = event.Info
    content = WAMessage()
    content.CopyFrom(event.Message)
    _trim(content)
    kept = proto.Message(
        Info=proto.MessageInfo(MessageSource=info.MessageSource, ID=info.ID, Timestamp=info.Timestamp),
        Message=content,
    )
    return base64.b64encode(fill_required(kept).SerializePartialToString()).decode("ascii")


def payload_ref(payload: bytes) -> str:
    return ref_of(proto.Message.FromString(payload))


def restore(ref: str, lid_to_pn: dict[str, str]) -> CachedMessage | None:
    """The cache entry a ``ref`` describes; None when it is not one of ours (it came through the gateway)."""
    try:
        event = proto.Message.FromString(base64.b64decode(ref, validate=True))
    except (binascii.Error, ValueError, DecodeError):
        return None
    data = incoming.incoming_message(event, lid_to_pn)
    if data is None or not data["id"]:
        return None
    return cache_entry(event, data, incoming.chat_alternative(event.Info.MessageSource, lid_to_pn))


def target(cached: CachedMessage) -> tuple[Any, Any]:
    """(chat, author) of a cached message, as WhatsApp addressed them."""
    source = proto.Message.FromString(cached.payload).Info.MessageSource
    return source.Chat, source.Sender


def recaptioned(cached: CachedMessage, caption: str) -> Any:
    """The sent media message with a new caption.

    WhatsApp edits a caption by resending the media message (whatsmeow BuildEdit takes any waE2E.Message);
    receivers read it as ``editedMessage.<kind>.caption``.
    """
    sent = proto.Message.FromString(cached.payload).Message
    field = MEDIA_FIELDS[cached.kind]
    if not sent.HasField(field):
        raise checks.invalid(f"message {cached.id} holds no {cached.kind} to edit")
    media = WAMessage()
    getattr(media, field).CopyFrom(getattr(sent, field))
    getattr(media, field).caption = caption
    getattr(media, field).ClearField("contextInfo")
    return media
