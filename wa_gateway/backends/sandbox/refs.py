"""A sandbox message's ``ref``: the cache entry as JSON, which the gateway's message store keeps and hands
back once the worker forgot the message (docs/messages.md "Acting on stored messages"). A media entry's
payload is the SHA-256 of its file on the sandbox's media server (``media_server.py``), never the bytes."""

from __future__ import annotations

from typing import Any

import orjson

from wa_gateway.engine import contract as c
from wa_gateway.worker.message_cache import CachedMessage


def ref_of(message: CachedMessage) -> str:
    return orjson.dumps(
        {
            "id": message.id,
            "chat": message.chat,
            "from": message.sender,
            "fromMe": message.from_me,
            "type": message.kind,
            "timestamp": message.timestamp,
            "text": message.text,
            "media": message.media,
            "sha256": message.payload.decode("ascii", "replace"),
            "pollOptions": list(message.poll_options),
            "pollMultiple": message.poll_multiple,
        }
    ).decode()


def restore(ref: str) -> CachedMessage | None:
    """The entry a ``ref`` describes; None when it is not one the sandbox made."""
    try:
        data = orjson.loads(ref)
        return CachedMessage(
            id=_text(data["id"]),
            chat=_text(data["chat"]),
            sender=_text(data["from"]),
            from_me=data["fromMe"] is True,
            kind=_text(data["type"]),
            timestamp=float(data["timestamp"]),
            text=_text(data["text"]),
            media=_media(data["media"]),
            poll_options=tuple(_text(option) for option in data["pollOptions"]),
            poll_multiple=data["pollMultiple"] is True,
            payload=_text(data["sha256"]).encode("ascii"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _media(value: Any) -> c.MediaInfo | None:
    if value is None:
        return None
    size = value["size"]
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError("size is not a whole number")
    name = value["filename"]
    return {"mimetype": _text(value["mimetype"]), "size": size, "filename": _text(name) if name else None}
