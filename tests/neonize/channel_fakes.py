"""neonize's Go newsletter functions, as FakeGo answers them: each takes the arguments neonize's async
client passes (the line of neonize/aioze/client.py named) and returns what Go returns."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from neonize.proto import Neonize_pb2 as P
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid

# whatsmeow answers a newsletter query for an unknown channel with a 404 IQ error (errors.go ErrIQNotFound).
NOT_FOUND: Final = "info query returned status 404: item-not-found"
SUBSCRIBER, ADMIN, OWNER = 1, 3, 4  # waProto NewsletterRole
MUTE_ON, MUTE_OFF = 1, 2  # waProto NewsletterMuteState


def channel(user: str, name: str, invite: str, subscribers: int = 10) -> Any:
    """A NewsletterMetadata as whatsmeow fills it for a channel the device does not follow."""
    thread = P.NewsletterThreadMetadata(
        Name=P.NewsletterText(Text=name),
        Description=P.NewsletterText(Text=f"About {name}"),
        InviteCode=invite,
        SubscriberCount=subscribers,
    )
    return P.NewsletterMetadata(ID=build_jid(user, "newsletter"), ThreadMeta=thread)


def post(server_id: int, text: str, views: int = 0, **reactions: int) -> Any:
    """A NewsletterMessage as neonize encodes whatsmeow's: server id, views, reactions and the message, no
    message id nor time (goneonize/utils/encoder.go EncodeNewsletterMessage)."""
    counts = [P.Reaction(type=emoji, count=count) for emoji, count in reactions.items()]
    return P.NewsletterMessage(
        MessageServerID=server_id,
        ViewsCount=views,
        ReactionCounts=counts,
        Message=WAMessage(conversation=text),
    )


class ChannelCalls:
    """Mixed into FakeGo; ``channels`` are NewsletterMetadata protos by channel user, ``channel_posts``
    the NewsletterMessage protos of each, in the order the server lists them."""

    channels: dict[str, Any]
    channel_posts: dict[str, list[Any]]

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _metadata(self, user: str) -> bytes:
        meta = self.channels.get(user)
        if meta is None:
            return P.CreateNewsLetterReturnFunction(Error=NOT_FOUND).SerializePartialToString()
        return P.CreateNewsLetterReturnFunction(NewsletterMetadata=meta).SerializePartialToString()

    def GetSubscribedNewsletters(self, *args: Any) -> bytes:  # aioze/client.py:3150
        self._record("GetSubscribedNewsletters", args)
        followed = [m for m in self.channels.values() if m.HasField("ViewerMeta")]
        return P.GetSubscribedNewslettersReturnFunction(Newsletter=followed).SerializePartialToString()

    def GetNewsletterInfo(self, *args: Any) -> bytes:  # aioze/client.py:3242 (jid, len)
        self._record("GetNewsletterInfo", args)
        return self._metadata(P.JID.FromString(args[1]).User)

    def GetNewsletterInfoWithInvite(self, *args: Any) -> bytes:  # aioze/client.py:3008 (the key)
        self._record("GetNewsletterInfoWithInvite", args)
        code = args[1].decode()
        user = next((u for u, m in self.channels.items() if m.ThreadMeta.InviteCode == code), "")
        if user not in self.channels:
            return self._metadata(user)
        # Asked without viewer metadata, whatever the device's role (whatsmeow GetNewsletterInfoWithInvite).
        meta = P.NewsletterMetadata()
        meta.CopyFrom(self.channels[user])
        meta.ClearField("ViewerMeta")
        return P.CreateNewsLetterReturnFunction(NewsletterMetadata=meta).SerializePartialToString()

    def FollowNewsletter(self, *args: Any) -> bytes:  # aioze/client.py:2995
        self._record("FollowNewsletter", args)
        meta = self.channels.get(P.JID.FromString(args[1]).User)
        if meta is None:
            return NOT_FOUND.encode()
        if not meta.HasField("ViewerMeta"):
            meta.ViewerMeta.CopyFrom(P.NewsletterViewerMetadata(Role=SUBSCRIBER, Mute=MUTE_OFF))
        return b""

    def UnfollowNewsletter(self, *args: Any) -> bytes:  # aioze/client.py:2788
        self._record("UnfollowNewsletter", args)
        meta = self.channels.get(P.JID.FromString(args[1]).User)
        if meta is None:
            return NOT_FOUND.encode()
        meta.ClearField("ViewerMeta")
        return b""

    def NewsletterToggleMute(self, *args: Any) -> bytes:  # aioze/client.py:2550 (jid, len, mute)
        self._record("NewsletterToggleMute", args)
        meta = self.channels.get(P.JID.FromString(args[1]).User)
        if meta is None:
            return NOT_FOUND.encode()
        meta.ViewerMeta.Mute = MUTE_ON if args[3] else MUTE_OFF
        return b""

    def CreateNewsletter(self, *args: Any) -> bytes:  # aioze/client.py:2978 (CreateNewsletterParams)
        self._record("CreateNewsletter", args)
        params = P.CreateNewsletterParams.FromString(args[1])
        user = f"12036300000000{len(self.channels) + 100}"
        meta = channel(user, params.Name, f"New{len(self.channels)}Invite", subscribers=1)
        meta.ThreadMeta.Description.Text = params.Description
        meta.ViewerMeta.CopyFrom(P.NewsletterViewerMetadata(Role=OWNER, Mute=MUTE_OFF))
        self.channels[user] = meta
        return P.CreateNewsLetterReturnFunction(NewsletterMetadata=meta).SerializePartialToString()

    def GetNewsletterMessages(self, *args: Any) -> bytes:  # aioze/client.py:3057 (jid, len, count, before)
        self._record("GetNewsletterMessages", args)
        user, count, before = P.JID.FromString(args[1]).User, args[3], args[4]
        if user not in self.channels:
            error = NOT_FOUND
            return P.GetNewsletterMessageUpdateReturnFunction(Error=error).SerializePartialToString()
        # whatsmeow sends count and before only when they are not 0 (newsletter.go GetNewsletterMessages):
        # the server then answers its newest posts.
        older = [m for m in self.channel_posts.get(user, []) if not before or m.MessageServerID < before]
        chosen = sorted(older, key=lambda m: m.MessageServerID)[-count:] if count else older
        return P.GetNewsletterMessageUpdateReturnFunction(NewsletterMessage=chosen).SerializePartialToString()

    def UploadNewsletter(self, *args: Any) -> bytes:  # aioze/client.py:2881 (data, len, media type)
        """whatsmeow's UploadNewsletter uploads the bytes as they are: no MediaKey, no FileEncSHA256, and a
        media handle (whatsmeow upload.go); neonize leaves the absent fields unset (goneonize/utils/encoder.go
        EncodeUploadResponse, optional in Neonize.proto)."""
        self._record("UploadNewsletter", args)
        data = bytes(args[1])
        digest = hashlib.sha256(data).digest()
        response = P.UploadResponse(
            url=f"https://mmg.whatsapp.net/newsletter/{digest.hex()[:16]}",
            DirectPath=f"/newsletter/newsletter-image/{digest.hex()[:16]}",
            Handle=f"handle-{digest.hex()[:8]}",
            FileSHA256=digest,
            FileLength=len(data),
        )
        return P.UploadReturnFunction(UploadResponse=response).SerializePartialToString()
