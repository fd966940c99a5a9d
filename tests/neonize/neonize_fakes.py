"""Test doubles for the neonize backend: a fake Go core behind the real FFI seam, builders, a recorder.

``FakeGo`` stands where neonize's loaded ``gocode`` would be. neonize's own Python code still runs
(message building, proto parsing, its connect()), and the callbacks neonize hands to ``Neonize()`` are
the real ctypes trampolines: ``FakeSession`` calls them from a foreign thread exactly as Go does.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neonize.aioze.client import DeviceProps
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    MessageContextInfo,
    PollCreationMessage,
    PollVoteMessage,
    ReactionMessage,
)
from neonize.utils import build_jid

from tests.neonize.channel_fakes import ChannelCalls
from tests.neonize.group_fakes import GroupCalls
from wa_gateway.backends.neonize import client as nc

DEVICE, PAIR_STATUS, CONNECTED = nc.DEVICE, nc.PAIR_STATUS, nc.CONNECTED
TOKEN = "15550000001"
DOWNLOADABLE_FIELDS = ("imageMessage", "audioMessage", "videoMessage", "documentMessage", "stickerMessage")


def make_paired_db(path: Path, jid: str = "15550000001:7@s.whatsapp.net") -> None:
    """A session database as whatsmeow leaves it after pairing (only what the engine reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE IF NOT EXISTS whatsmeow_device (jid TEXT PRIMARY KEY)")
        db.execute("INSERT OR REPLACE INTO whatsmeow_device (jid) VALUES (?)", (jid,))
        db.commit()


def make_unpaired_db(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE IF NOT EXISTS whatsmeow_device (jid TEXT PRIMARY KEY)")
        db.commit()


def device_event(user: str, push_name: str = "Me", device: int = 7) -> Any:
    return P.Device(JID=P.JID(User=user, Device=device, Server="s.whatsapp.net"), PushName=push_name)


def _go_zero_values(message: Any) -> None:
    for spec in message.DESCRIPTOR.fields:
        if spec.is_repeated:
            if spec.message_type is not None:
                for item in getattr(message, spec.name):
                    _go_zero_values(item)
        elif spec.message_type is not None:
            if spec.is_required or message.HasField(spec.name):
                child = getattr(message, spec.name)
                _go_zero_values(child)
                child.SetInParent()
        elif spec.is_required and not message.HasField(spec.name):
            setattr(message, spec.name, spec.default_value)


def _go_filled(message: Any, unset: tuple[str, ...]) -> Any:
    filled = type(message)()
    filled.CopyFrom(message)
    _go_zero_values(filled)
    for path in unset:
        *parents, name = path.split(".")
        target = filled
        for parent in parents:
            target = getattr(target, parent)
        target.ClearField(name)
    return filled


class FakeSession:
    """One ``Neonize()`` call: what neonize passed to Go, and Go's side of the callbacks."""

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.db_path = args[0].decode()
        self.uuid = args[1].decode()
        # The device Go looks up (container.GetDevice), or a blank one with new_device (goneonize/main.go).
        self.jid = P.JID.FromString(bytes(args[2][: args[3]])) if args[3] else None
        self.new_device = bool(args[4])
        self.log_level = args[5]
        self._qr_cb, self._login_cb, self._event_cb = args[6], args[7], args[8]
        self.log_cb = args[9]
        self.subscribed = set(bytes(args[10])[: args[11]])
        self.device_props = DeviceProps.FromString(args[12][: args[13]])
        self.stopped = threading.Event()
        self.ignore_stop = False
        self.qr_mode = False  # Neonize() is in its QR channel loop (an unpaired device)
        self.marshal_error = ""  # why Go's event callback failed and ended the session
        self.released = threading.Event()  # the test is over: a Go call stuck forever may now return

    def qr(self, code: str) -> None:
        buf = ctypes.create_string_buffer(code.encode())
        self._qr_cb(None, ctypes.addressof(buf))

    def login(self, status: str) -> None:
        if status == "success":
            self.qr_mode = False  # the QR loop ends and Neonize() goes on to the normal session
        buf = ctypes.create_string_buffer(status.encode())
        self._login_cb(None, ctypes.addressof(buf))

    def event(self, code: int, message: Any, unset: tuple[str, ...] = ()) -> bool:
        """Deliver one event as Go does; False when Go could not marshal it (the session then ends).

        neonize's Go converters (goneonize/utils/proto.go) give every field of the event a value, zero
        or not, so the fake fills what a test left out. A Go value the converter has no proto value for
        (a receipt type, ConnectFailure reason or ban code whatsmeow added later) stays unset: name it
        in ``unset`` (dotted path). proto.Marshal then refuses the required field, the event callback
        returns the error, and Neonize() ends with it (goneonize/main.go, the event handler).
        """
        message = _go_filled(message, unset)
        if not message.IsInitialized():
            missing = ", ".join(message.FindInitializationErrors())
            self.marshal_error = f"proto: required field {missing} not set"
            self.stopped.set()
            return False
        data = message.SerializePartialToString()
        buf = ctypes.create_string_buffer(data, max(len(data), 1))
        self._event_cb(self.uuid.encode(), ctypes.addressof(buf), len(data), code)
        return True


@dataclass
class FakeCall:
    name: str
    args: tuple[Any, ...]
    writer: bool  # the Go lock was held exclusively during the call
    readers: int


@dataclass
class FakeGo(GroupCalls, ChannelCalls):
    """neonize's Go functions as the engine uses them; returns what the real errcheck hooks return (bytes)."""

    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # db path -> (user, push name)
    registered: dict[str, str] = field(default_factory=dict)  # digits -> answering JID server
    unanswered: set[str] = field(default_factory=set)  # digits usync answers nothing for
    session_error: str = ""
    logout_error: str = ""
    script: Callable[[FakeSession], None] | None = None
    lock: Any = None
    groups: list[Any] = field(default_factory=list)  # GroupInfo protos GetJoinedGroups/GetGroupInfo know
    group_refusal: str = ""  # what every group change answers (group_fakes.FORBIDDEN: not an admin)
    invites: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    join_requests: list[Any] = field(default_factory=list)
    sub_groups: dict[str, list[str]] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)  # NewsletterMetadata protos by channel user
    channel_posts: dict[str, list[Any]] = field(default_factory=dict)  # NewsletterMessage protos by user
    downloads: dict[str, bytes] = field(default_factory=dict)  # directPath -> the media's bytes
    download_error: str = ""
    uploads: list[tuple[int, bytes]] = field(default_factory=list)  # (MediaType value, data) per Upload
    transfer_gate: threading.Event | None = None  # when set, Upload/DownloadAny wait for it (a slow network)
    poll_votes: list[bytes] = field(default_factory=list)  # what DecryptPollVote finds selected
    poll_vote_error: str = ""
    sent_ids: list[str] = field(default_factory=list)  # ids SendMessage answers with, in order
    subscribe_presence_error: str = ""
    send_error: str = ""  # what SendMessage fails with
    calls: list[FakeCall] = field(default_factory=list)
    sessions: dict[str, FakeSession] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._mutex = threading.Lock()
        self._started: queue.Queue[FakeSession] = queue.Queue()

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        writer = bool(self.lock.writer) if self.lock is not None else False
        readers = int(self.lock.readers) if self.lock is not None else 0
        with self._mutex:
            self.calls.append(FakeCall(name, args, writer, readers))

    def called(self, name: str) -> list[FakeCall]:
        with self._mutex:
            return [call for call in self.calls if call.name == name]

    async def next_session(self, within: float = 5.0) -> FakeSession:
        return await asyncio.to_thread(self._started.get, True, within)

    # --- the session call ------------------------------------------------------------------------

    def Neonize(self, *args: Any) -> bytes:
        session = FakeSession(args)
        self._record("Neonize", (session.uuid,))
        with self._mutex:
            self.sessions[session.uuid] = session
        self._started.put(session)
        if self.session_error:
            return self.session_error.encode()
        if self.script is not None:
            self.script(session)
        elif session.db_path in self.accounts:
            user, push_name = self.accounts[session.db_path]
            session.event(DEVICE, device_event(user, push_name))
            session.event(CONNECTED, P.Connected(status=True))
        else:
            session.qr_mode = True
            session.qr("2@first,AAAA,BBBB,CCCC")
        session.stopped.wait()
        if session.marshal_error:
            return session.marshal_error.encode()
        if session.ignore_stop or session.qr_mode:
            # Stop cancels the session's context, but neonize's Neonize() ranges over whatsmeow's QR
            # channel and never looks at it (goneonize/main.go, the `for evt := range qrChan` loop):
            # the call stays blocked, as it does in FetchMe() after a QR timeout.
            session.released.wait()
        return b""

    def release(self) -> None:
        """End every Go call that real Go would leave blocked forever (test teardown)."""
        for session in list(self.sessions.values()):
            session.released.set()

    def Stop(self, uuid: bytes) -> bytes:
        self._record("Stop", (uuid,))
        session = self.sessions.get(uuid.decode())
        if session is not None:
            session.stopped.set()
        return b""

    # --- calls that share the lock -----------------------------------------------------------------

    def SendChatPresence(self, *args: Any) -> bytes:
        self._record("SendChatPresence", args)
        return b""

    def SendPresence(self, *args: Any) -> bytes:
        self._record("SendPresence", args)
        return b""

    def SubscribePresence(self, *args: Any) -> bytes:
        # neonize's SubscribePresence answers whatsmeow's error text, "" on success (aioze/client.py
        # subscribe_presence decodes it and raises SubscribePresenceError when non-empty).
        self._record("SubscribePresence", args)
        return self.subscribe_presence_error.encode()

    def SendMessage(self, *args: Any) -> bytes:
        self._record("SendMessage", args)
        if self.send_error:
            return P.SendMessageReturnFunction(Error=self.send_error).SerializePartialToString()
        with self._mutex:
            message_id = self.sent_ids.pop(0) if self.sent_ids else "3EB0FAKE0001"
        response = P.SendResponse(ID=message_id, Timestamp=1_700_000_123, ServerID=0)
        return P.SendMessageReturnFunction(SendResponse=response).SerializePartialToString()

    def Upload(self, *args: Any) -> bytes:
        self._record("Upload", args)
        if self.transfer_gate is not None:
            self.transfer_gate.wait(10)
        data, media_type = bytes(args[1]), int(args[3])
        with self._mutex:
            self.uploads.append((media_type, data))
        digest = hashlib.sha256(data).digest()
        # whatsmeow's Upload derives the encryption keys from the media type's HKDF info string
        # ("WhatsApp Audio Keys", "WhatsApp Video Keys", ...; whatsmeow upload.go, mediaconn/download.go
        # getMediaKeys): a file uploaded as video cannot be decrypted by a recipient told it is audio.
        response = P.UploadResponse(
            url=f"https://mmg.whatsapp.net/fake/{digest.hex()[:16]}",
            DirectPath=f"/v/t62/{digest.hex()[:16]}",
            MediaKey=hashlib.sha256(b"keys-for-type-%d" % media_type).digest(),
            FileEncSHA256=b"E" * 32,
            FileSHA256=digest,
            FileLength=len(data),
        )
        return P.UploadReturnFunction(UploadResponse=response).SerializePartialToString()

    def DownloadAny(self, *args: Any) -> bytes:
        self._record("DownloadAny", args)
        message = WAMessage.FromString(args[1])
        # whatsmeow's DownloadAny looks only at these top-level fields, nothing wrapped and no
        # ptvMessage (whatsmeow download.go, DownloadAny); anything else is ErrNothingDownloadableFound.
        found = [getattr(message, name) for name in DOWNLOADABLE_FIELDS if message.HasField(name)]
        if not found:
            error = "didn't find any attachments in message"
            return P.DownloadReturnFunction(Error=error).SerializePartialToString()
        paths = [found[0].directPath]
        if self.download_error or paths[0] not in self.downloads:
            error = self.download_error or "download failed with status code 404"
            return P.DownloadReturnFunction(Error=error).SerializePartialToString()
        return P.DownloadReturnFunction(Binary=self.downloads[paths[0]]).SerializePartialToString()

    def BuildReaction(self, *args: Any) -> bytes:
        """As whatsmeow's BuildReaction: the key names the reacted-to message and, in groups, its author."""
        self._record("BuildReaction", args)
        uuid, chat, _, sender, _, message_id, emoji = args
        chat_jid, sender_jid = P.JID.FromString(chat), P.JID.FromString(sender)
        own = self.accounts.get(self.sessions[uuid.decode()].db_path, ("", ""))[0]
        key = MessageKey(
            remoteJID=f"{chat_jid.User}@{chat_jid.Server}",
            fromMe=sender_jid.User == own,
            ID=message_id.decode(),
        )
        if chat_jid.Server not in ("s.whatsapp.net", "lid"):
            key.participant = f"{sender_jid.User}@{sender_jid.Server}"
        reaction = ReactionMessage(key=key, text=emoji.decode(), senderTimestampMS=1_700_000_123_000)
        return P.BuildMessageReturnFunction(
            Message=WAMessage(reactionMessage=reaction)
        ).SerializePartialToString()

    def BuildPollVoteCreation(self, *args: Any) -> bytes:
        """As whatsmeow's BuildPollCreation: the options, the selectable count, a fresh message secret."""
        self._record("BuildPollVoteCreation", args)
        _, name, options, _, selectable = args
        poll = PollCreationMessage(
            name=name.decode(),
            options=[
                PollCreationMessage.Option(optionName=o) for o in P.ArrayString.FromString(options).data
            ],
            selectableOptionsCount=selectable,
        )
        message = WAMessage(
            pollCreationMessage=poll, messageContextInfo=MessageContextInfo(messageSecret=os.urandom(32))
        )
        return P.BuildMessageReturnFunction(Message=message).SerializePartialToString()

    def DecryptPollVote(self, *args: Any) -> bytes:
        self._record("DecryptPollVote", args)
        if self.poll_vote_error:
            return P.ReturnFunctionWithError(Error=self.poll_vote_error).SerializePartialToString()
        vote = PollVoteMessage(selectedOptions=self.poll_votes)
        return P.ReturnFunctionWithError(PollVoteMessage=vote).SerializePartialToString()

    def GetJoinedGroups(self, *args: Any) -> bytes:
        self._record("GetJoinedGroups", args)
        return P.GetJoinedGroupsReturnFunction(Group=self.groups).SerializePartialToString()

    def GetGroupInfo(self, *args: Any) -> bytes:
        self._record("GetGroupInfo", args)
        wanted = P.JID.FromString(args[1])
        for group in self.groups:
            if group.JID.User == wanted.User:
                return P.GetGroupInfoReturnFunction(GroupInfo=group).SerializePartialToString()
        # whatsmeow maps the 404 answer to ErrGroupNotFound (whatsmeow errors.go, group.go getGroupInfo).
        error = "that group does not exist"
        return P.GetGroupInfoReturnFunction(Error=error).SerializePartialToString()

    def RejectCall(self, *args: Any) -> bytes:
        self._record("RejectCall", (args[0], args[1], args[2], args[3].value))
        return b""

    def IsOnWhatsApp(self, *args: Any) -> bytes:
        self._record("IsOnWhatsApp", args)
        answers = []
        for query in args[1].decode().split(" "):
            digits = query.lstrip("+")
            if digits in self.unanswered:
                continue  # usync gives no entry for what is not a phone number (whatsmeow user.go)
            server = self.registered.get(digits)
            if server is None:
                answers.append(P.IsOnWhatsAppResponse(Query=query, IsIn=False, JID=P.JID()))
            else:
                user = digits if server == "s.whatsapp.net" else f"9{digits}"
                answers.append(P.IsOnWhatsAppResponse(Query=query, IsIn=True, JID=build_jid(user, server)))
        if not answers:
            # neonize's Go IsOnWhatsApp returns this error for an empty answer (goneonize/main.go).
            return P.IsOnWhatsAppReturnFunction(Error="Function returned nothing.").SerializePartialToString()
        return P.IsOnWhatsAppReturnFunction(IsOnWhatsAppResponse=answers).SerializePartialToString()

    def MarkRead(self, *args: Any) -> bytes:
        self._record("MarkRead", args)
        return b""

    def Logout(self, *args: Any) -> bytes:
        self._record("Logout", args)
        return self.logout_error.encode()

    def PairPhone(self, *args: Any) -> bytes:
        self._record("PairPhone", args)
        return P.PairPhoneReturnFunction(Code="ABCD-EFGH").SerializePartialToString()

    def GetMe(self, *args: Any) -> bytes:
        self._record("GetMe", args)
        session = self.sessions[args[0].decode()]
        user, push_name = self.accounts.get(session.db_path, ("", ""))
        return device_event(user, push_name).SerializePartialToString() if user else b""

    def IsConnected(self, *args: Any) -> bool:
        self._record("IsConnected", args)
        return False


class Recorder:
    """The ``emit`` callback: keeps (token, event, data) and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._changed: asyncio.Event | None = None

    def __call__(self, token: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((token, event, data))
        if self._changed is not None:
            self._changed.set()

    def of(self, event: str, token: str | None = None) -> list[dict[str, Any]]:
        return [d for t, e, d in self.events if e == event and (token is None or t == token)]

    async def wait_for(
        self, event: str, token: str | None = None, count: int = 1, within: float = 5.0
    ) -> Any:
        if self._changed is None:
            self._changed = asyncio.Event()
        deadline = time.monotonic() + within
        while True:
            self._changed.clear()
            found = self.of(event, token)
            if len(found) >= count:
                return found[count - 1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} #{count} within {within} s; got {self.events}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


async def wait_until(predicate: Callable[[], bool], within: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.002)


def text_message(
    text: str,
    sender: Any,
    chat: Any | None = None,
    *,
    sender_alt: Any | None = None,
    is_group: bool = False,
    from_me: bool = False,
    message_id: str = "3EB0INCOMING01",
    timestamp_ms: int = 1_700_000_000_123,
    push_name: str = "Alice",
) -> Any:
    source = P.MessageSource(
        Chat=chat if chat is not None else sender, Sender=sender, IsFromMe=from_me, IsGroup=is_group
    )
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    info = P.MessageInfo(
        MessageSource=source, ID=message_id, Type="text", Pushname=push_name, Timestamp=timestamp_ms
    )
    return P.Message(Info=info, Message=WAMessage(conversation=text))
