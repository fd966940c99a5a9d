"""Pure translation of neonize's protobufs into contract data; what people send is in ``neonize_incoming``."""

from __future__ import annotations

import re
from typing import Any, Final

from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]

from wa_gateway import vocabulary as v
from wa_gateway.engine.contract import GroupDetails, GroupParticipant, GroupSummary

PN_SERVER: Final = v.USER_SERVER
LID_SERVER: Final = v.LID_SERVER
PHONE_RE: Final = re.compile(r"[0-9]{5,20}")
# Timestamps above this are milliseconds (MessageInfo.Timestamp is UnixMilli, docs/neonize.md §5).
_MILLIS_FLOOR: Final = 100_000_000_000

RECEIPT_TYPES: Final = {
    proto.Receipt.ReceiptType.DELIVERED: "delivered",
    proto.Receipt.ReceiptType.READ: "read",
    proto.Receipt.ReceiptType.PLAYED: "played",
}

# neonize's enum -> whatsmeow's numeric reason (whatsmeow types/events ConnectFailureReason).
CONNECT_FAILURE_CODES: Final = {
    proto.ConnectFailureReason.GENERIC: 400,
    proto.ConnectFailureReason.LOGGED_OUT: 401,
    proto.ConnectFailureReason.TEMP_BANNED: 402,
    proto.ConnectFailureReason.MAIN_DEVICE_GONE: 403,
    proto.ConnectFailureReason.CLIENT_OUTDATED: 405,
    proto.ConnectFailureReason.UNKNOWN_LOGOUT: 406,
    proto.ConnectFailureReason.BAD_USER_AGENT: 409,
    proto.ConnectFailureReason.INTERNAL_SERVER_ERROR: 500,
    proto.ConnectFailureReason.EXPERIMENTAL: 501,
    proto.ConnectFailureReason.SERVICE_UNAVAILABLE: 503,
}
CONNECT_FAILURE_TEXT: Final = {
    400: "generic error",
    401: "logged out",
    402: "account temporarily banned",
    403: "the main device is gone",
    405: "client is outdated",
    406: "logged out for an unknown reason",
    409: "client user agent was rejected",
    500: "internal server error",
    501: "experimental",
    503: "service unavailable",
}
# whatsmeow keeps reconnecting by itself after these (whatsmeow handleConnectFailure).
TRANSIENT_CONNECT_FAILURES: Final = frozenset({500, 503})

# neonize's enum -> whatsmeow's TempBanReason code, as WhatsApp documents them.
TEMP_BAN_CODES: Final = {
    proto.TemporaryBan.TempBanReason.SEND_TO_TOO_MANY_PEOPLE: 101,
    proto.TemporaryBan.TempBanReason.BLOCKED_BY_USERS: 102,
    proto.TemporaryBan.TempBanReason.CREATED_TOO_MANY_GROUPS: 103,
    proto.TemporaryBan.TempBanReason.SENT_TOO_MANY_SAME_MESSAGE: 104,
    proto.TemporaryBan.TempBanReason.BROADCAST_LIST: 106,
}


def fill_required(message: Any) -> Any:
    """Sets every unset proto2 *required* field to its default, recursively; returns the message.

    Neonize.proto marks most fields required, Go may leave some unset (Receipt.Type, docs/neonize.md §5),
    and neonize serializes what it hands back to Go strictly (``SerializeToString``).
    """
    for field in message.DESCRIPTOR.fields:
        if field.is_repeated:
            if field.message_type is not None:
                for item in getattr(message, field.name):
                    fill_required(item)
        elif field.message_type is not None:
            if field.is_required or message.HasField(field.name):
                child = getattr(message, field.name)
                fill_required(child)
                child.SetInParent()
        elif field.is_required and not message.HasField(field.name):
            setattr(message, field.name, field.default_value)
    return message


def seconds(timestamp: int) -> float:
    value = float(timestamp)
    return value / 1000 if value >= _MILLIS_FLOOR else value


def bare_jid_string(text: str) -> str:
    """``user.agent:device@server`` -> ``user@server``."""
    user, at, server = text.partition("@")
    if not at:
        return text
    return f"{user.split(':', 1)[0].split('.', 1)[0]}@{server}"


def jid_string(jid: Any) -> str:
    """A JID proto as ``user@server``, device and agent dropped; ``""`` when empty."""
    user, server = str(jid.User), str(jid.Server)
    if not user:
        return server
    return f"{user}@{server}"


def full_jid_string(jid: Any) -> str:
    """A JID proto with its device, as whatsmeow's ``JID.String()`` writes it."""
    if not jid.User:
        return str(jid.Server)
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def phone_of(jid_text: str) -> str:
    user, _, server = bare_jid_string(jid_text).partition("@")
    return user if server == PN_SERVER and PHONE_RE.fullmatch(user) else ""


def parse_jid(text: str) -> Any:
    """``digits``, ``user@server`` or ``user:device@server`` -> a JID proto (ValueError if malformed)."""
    user, at, server = text.strip().partition("@")
    if not at:
        server = PN_SERVER
    device = 0
    if ":" in user:
        user, _, device_text = user.partition(":")
        if not device_text.isdigit():
            raise ValueError(f"invalid JID {text!r}")
        device = int(device_text)
    if not user or not server or any(ch.isspace() or ch == "@" for ch in user + server):
        raise ValueError(f"invalid JID {text!r}")
    return proto.JID(User=user, RawAgent=0, Device=device, Integrator=0, Server=server, IsEmpty=False)


def resolve_person(jid: Any, alt: Any, lid_to_pn: dict[str, str]) -> tuple[str, str]:
    """(phone JID when known else the JID as given, phone digits or "").

    WhatsApp addresses more and more people by LID; the phone JID then comes as the *Alt field, or
    from a history-sync PN<->LID mapping seen earlier.
    """
    primary = jid_string(jid)
    if jid.Server == LID_SERVER:
        alternative = jid_string(alt) if alt is not None and alt.User else ""
        if alternative and phone_of(alternative):
            lid_to_pn[primary] = alternative
            return alternative, phone_of(alternative)
        mapped = lid_to_pn.get(primary, "")
        if mapped:
            return mapped, phone_of(mapped)
    return primary, phone_of(primary)


def receipt(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any] | None:
    """delivered/read/played from someone else; every other receipt is dropped.

    neonize's Go encoder reports whatsmeow's PlayedSelf as SERVER_ERROR and leaves Type unset for a real
    ServerError (docs/neonize.md §5); neither is in RECEIPT_TYPES, and an unset Type must not read as its
    proto2 default, DELIVERED.
    """
    if not event.HasField("Type"):
        return None
    kind = RECEIPT_TYPES.get(event.Type)
    source = event.MessageSource
    if kind is None or source.IsFromMe or not event.MessageIDs:
        return None
    sender, _ = resolve_person(source.Sender, source.SenderAlt, lid_to_pn)
    return {
        "type": kind,
        "messageIds": [str(message_id) for message_id in event.MessageIDs],
        "from": sender,
        "chat": jid_string(source.Chat),
        "timestamp": seconds(event.Timestamp),
    }


def history_contacts(data: Any, own_phone: str, lid_to_pn: dict[str, str]) -> list[dict[str, str]]:
    """1:1 chats of a history-sync blob as ``{phone, name}``; learns PN<->LID mappings on the way."""
    for mapping in data.phoneNumberToLidMappings:
        if mapping.lidJID and phone_of(mapping.pnJID):
            lid_to_pn[bare_jid_string(mapping.lidJID)] = bare_jid_string(mapping.pnJID)
    pushnames = {bare_jid_string(entry.ID): str(entry.pushname) for entry in data.pushnames if entry.pushname}
    contacts: dict[str, dict[str, str]] = {}
    for conversation in data.conversations:
        chat = bare_jid_string(conversation.ID)
        server = chat.partition("@")[2]
        lid = ""
        if server == PN_SERVER:
            pn_jid = chat
            if conversation.lidJID:
                lid = bare_jid_string(conversation.lidJID)
                lid_to_pn[lid] = chat
        elif server == LID_SERVER:
            lid = chat
            pn_jid = bare_jid_string(conversation.pnJID) if conversation.pnJID else lid_to_pn.get(chat, "")
            if phone_of(pn_jid):
                lid_to_pn[chat] = pn_jid
        else:
            continue  # groups, broadcast lists, status, newsletters
        phone = phone_of(pn_jid)
        if not phone or phone == own_phone:
            continue
        name = (
            conversation.name
            or conversation.displayName
            or pushnames.get(pn_jid)
            or pushnames.get(lid)
            or conversation.username
        )
        if phone not in contacts or (name and not contacts[phone]["name"]):
            contacts[phone] = {"phone": phone, "name": str(name or "")}
    return list(contacts.values())


def call_offer(event: Any, lid_to_pn: dict[str, str]) -> dict[str, Any]:
    """A CallOffer (1:1) or a CallOfferNotice (group calls announce themselves this way)."""
    meta = event.basicCallMeta
    caller, _ = resolve_person(getattr(meta, "from"), meta.callCreatorAlt, lid_to_pn)
    if event.DESCRIPTOR.name == "CallOfferNotice":
        is_video, is_group = event.media == "video", event.type == "group"
    else:
        # The offer node lists the call's media: a <video> child makes it a video call (whatsmeow call.go).
        is_video = any(child.Tag == "video" for child in event.data.Nodes)
        is_group = any(attr.name == "group-jid" for attr in event.data.Attrs)
    return {
        "from": caller,
        "callId": str(meta.callID),
        "timestamp": seconds(meta.timestamp),
        "isVideo": is_video,
        "isGroup": is_group,
    }


def group_summary(group: Any) -> GroupSummary:
    return {
        "jid": jid_string(group.JID),
        "subject": str(group.GroupName.Name),
        "participants": len(group.Participants),
    }


def group_details(group: Any) -> GroupDetails:
    """A GroupInfo as GroupDetails: people by phone JID when WhatsApp tells it, else as given (LID)."""
    participants: list[GroupParticipant] = []
    for member in group.Participants:
        jid = jid_string(member.JID)
        phone = phone_of(jid) or (phone_of(jid_string(member.PhoneNumber)) if member.PhoneNumber.User else "")
        participants.append(
            {
                "jid": f"{phone}@{PN_SERVER}" if phone else jid,
                "phone": phone or None,
                "isAdmin": bool(member.IsAdmin or member.IsSuperAdmin),
                "isSuperAdmin": bool(member.IsSuperAdmin),
            }
        )
    owner = group.OwnerPN if group.OwnerPN.User else group.OwnerJID
    created = seconds(int(group.GroupCreated)) if group.GroupCreated > 0 else None
    return {
        "jid": jid_string(group.JID),
        "subject": str(group.GroupName.Name),
        "topic": str(group.GroupTopic.Topic),
        "owner": jid_string(owner) if owner.User else None,
        "createdAt": created,
        "participants": participants,
    }


def ban(event: Any, now: float) -> dict[str, Any]:
    code = TEMP_BAN_CODES.get(event.Code, int(event.Code))
    expire = int(event.Expire)
    return {"code": code, "expires": now + expire if expire > 0 else None}


def connect_failure_code(event: Any) -> int | None:
    if not event.HasField("Reason"):
        return None
    return CONNECT_FAILURE_CODES.get(event.Reason)


def connect_failure_reason(event: Any) -> str:
    code = connect_failure_code(event)
    text = str(event.Message) or CONNECT_FAILURE_TEXT.get(code or 0, "unknown error")
    return f"Connection failed: {code}: {text}" if code is not None else f"Connection failed: {text}"


def logged_out_reason(event: Any) -> str:
    code = CONNECT_FAILURE_CODES.get(event.Reason) if event.HasField("Reason") else None
    where = "while connecting" if event.OnConnect else "by the phone or the server"
    detail = f" ({code}: {CONNECT_FAILURE_TEXT[code]})" if code is not None else ""
    return f"Logged out {where}{detail}"
