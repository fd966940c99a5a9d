"""Posting in a channel and reading its posts through neonize (docs/channels.md).

The device posts in a channel only as its owner or an admin: ``require_admin`` asks whatsmeow for the
channel (``get_newsletter_info``, which carries the device's role) before anything is sent.
"""

from __future__ import annotations

from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]

from wa_gateway import vocabulary as v
from wa_gateway.backends.neonize import incoming
from wa_gateway.backends.neonize.send_errors import failure
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.engine import contract as c

NEWSLETTER_SERVER: Final = v.NEWSLETTER_SERVER
# waProto NewsletterRole values (Neonize.proto) of the roles that post: ADMIN and OWNER.
ADMIN_ROLES: Final = frozenset({3, 4})
# whatsmeow's answers for a channel that does not exist or an invite that leads nowhere: an IQ error
# (errors.go ErrIQNotFound, ErrIQNotAcceptable) or a GraphQL error (types/newsletter.go GraphQLError).
NOT_FOUND_ERRORS: Final = ("not found", "item-not-found", "status 404", "does not exist", "not-acceptable")


def is_channel(target: Any) -> bool:
    return bool(target.Server == NEWSLETTER_SERVER)


def refusal(session: DeviceSession, action: str, exc: Exception, code: str = c.E_NEWSLETTER_NOT_FOUND) -> Any:
    """The EngineError for a refused channel call: ``code`` when whatsmeow says there is no such thing."""
    if any(marker in str(exc).lower() for marker in NOT_FOUND_ERRORS):
        what = "no such channel" if code == c.E_NEWSLETTER_NOT_FOUND else "the invite leads to no channel"
        return c.EngineError(code, f"{action} failed: {what}")
    return failure(session, action, exc)


async def metadata(session: DeviceSession, target: Any) -> Any:
    """The channel's NewsletterMetadata, with the device's role when it follows it."""
    try:
        meta = await session.connected_client().get_newsletter_info(target)
    except NeonizeError as exc:
        raise refusal(session, "Reading the channel", exc) from exc
    # For a channel it cannot find, whatsmeow may answer no error and no channel (newsletter.go).
    if not meta.ID.User:
        raise c.EngineError(c.E_NEWSLETTER_NOT_FOUND, "no such channel")
    return meta


async def require_admin(session: DeviceSession, target: Any) -> None:
    meta = await metadata(session, target)
    if not meta.HasField("ViewerMeta") or int(meta.ViewerMeta.Role) not in ADMIN_ROLES:
        raise c.EngineError(c.E_NOT_CHANNEL_ADMIN, "only the channel's owner and admins can post")


def post_of(message: Any) -> c.NewsletterPost:
    """A NewsletterMessage of ``get_newsletter_messages``.

    neonize 0.5.2 hands over whatsmeow's server id, view count, reactions and message, but not the message
    id or the time whatsmeow parsed (goneonize/utils/encoder.go EncodeNewsletterMessage): both stay None.
    """
    content = message.Message
    return {
        "id": None,
        "serverId": int(message.MessageServerID),
        "type": incoming.message_type(content) or "unknown",
        "text": incoming.message_text(content),
        "caption": incoming.caption(content),
        "media": incoming.media_info(content),
        "timestamp": None,
        "views": int(message.ViewsCount),
        "reactions": [{"emoji": str(r.type), "count": int(r.count)} for r in message.ReactionCounts],
    }
