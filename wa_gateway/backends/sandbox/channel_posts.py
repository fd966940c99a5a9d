"""The posts of a sandbox channel: how one is kept, listed and delivered to the channel's followers
(docs/channels.md).

A channel keeps its newest ``MAX_POSTS`` posts with its other data in ``DATA_DIR/sandbox/newsletters.json``;
each post has the channel's next ``serverId``, as WhatsApp numbers a channel's posts.
"""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.worker.message_cache import CachedMessage

MAX_POSTS: Final = 500

Channel = dict[str, Any]
Post = dict[str, Any]


def new_post(channel: Channel, message: CachedMessage) -> Post:
    """The next post of ``channel``, its content as ``message`` holds it; kept, the oldest dropped."""
    server_id = int(channel.get("lastServerId", 0)) + 1
    channel["lastServerId"] = server_id
    media = dict(message.media) if message.media is not None else None
    post: Post = {
        "serverId": server_id,
        "id": message.id,
        "type": message.kind,
        "text": message.text,
        "caption": message.text if media is not None and message.text else None,
        "media": media,
        "timestamp": message.timestamp,
        "views": 0,
        "reactions": {},
    }
    posts = channel.setdefault("posts", [])
    posts.append(post)
    del posts[:-MAX_POSTS]
    return post


def find_post(channel: Channel, server_id: int) -> Post | None:
    return next((p for p in channel.get("posts", []) if p["serverId"] == server_id), None)


def page(channel: Channel, count: int, before: int | None) -> list[c.NewsletterPost]:
    """Newest first: at most ``count`` posts, all older than ``before`` when it is given."""
    older = [p for p in channel.get("posts", []) if before is None or p["serverId"] < before]
    return [listed(p) for p in reversed(older[-count:] if count else [])]


def listed(post: Post) -> c.NewsletterPost:
    reactions: list[c.NewsletterReactionCount] = [
        {"emoji": emoji, "count": count} for emoji, count in post["reactions"].items() if count
    ]
    return {
        "id": post["id"],
        "serverId": post["serverId"],
        "type": post["type"],
        "text": post["text"],
        "caption": post["caption"],
        "media": post["media"],
        "timestamp": post["timestamp"],
        "views": post["views"],
        "reactions": reactions,
    }


def received(jid: str, post: Post, ref: str) -> c.IncomingMessage:
    """The post as a follower's device receives it: whatsmeow names the channel as chat and sender."""
    return {
        "id": post["id"],
        "from": jid,
        "chat": jid,
        "pushName": "",
        "text": post["text"],
        "type": post["type"],
        "timestamp": post["timestamp"],
        "isGroup": False,
        "fromMe": False,
        "senderPhone": "",
        "caption": post["caption"],
        "media": post["media"],
        "replyTo": None,
        "mentions": [],
        "isNewsletter": True,
        "ref": ref,
    }


def cached(jid: str, post: Post, payload: bytes) -> CachedMessage:
    """What a follower keeps of the post, so it can react to it or download its media."""
    return CachedMessage(
        id=post["id"],
        chat=jid,
        sender=jid,
        from_me=False,
        kind=post["type"],
        timestamp=post["timestamp"],
        text=post["text"],
        media=post["media"],
        payload=payload,
    )
