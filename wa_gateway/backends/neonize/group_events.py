"""whatsmeow's group events as the contract's (docs/groups.md "Events").

whatsmeow sends ``JoinedGroup`` when the device is added to or creates a group (events.go), and
``GroupInfo`` for every other change: settings, and participants joining, leaving, promoted, demoted.
"""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.backends.neonize import events as translate
from wa_gateway.engine import contract as c

# GroupInfo's participant lists, as the actions the contract names.
PARTICIPANT_LISTS: Final = (
    ("Join", "add"),
    ("Leave", "remove"),
    ("Promote", "promote"),
    ("Demote", "demote"),
)


def _who(jid: Any, lid_to_pn: dict[str, str]) -> str | None:
    if not jid.User:
        return None
    return translate.resolve_person(jid, None, lid_to_pn)[0]


def joined(event: Any, lid_to_pn: dict[str, str], now: float) -> c.GroupJoined:
    info = event.GroupInfo
    sender = event.SenderPN if event.SenderPN.User else event.Sender
    return {
        "jid": translate.jid_string(info.JID),
        "subject": str(info.GroupName.Name),
        "by": _who(sender, lid_to_pn),
        "timestamp": now,
    }


def changes(
    event: Any, own_jid: str, lid_to_pn: dict[str, str], now: float
) -> list[tuple[str, dict[str, Any]]]:
    """The contract events one GroupInfo event stands for, in the order WhatsApp applied them."""
    group = translate.jid_string(event.JID)
    by = _who(event.Sender, lid_to_pn)
    when = translate.seconds(int(event.Timestamp)) if event.Timestamp > 0 else now
    found: list[tuple[str, dict[str, Any]]] = []
    settings: dict[str, Any] = {}
    if event.HasField("Name"):
        settings["subject"] = str(event.Name.Name)
    if event.HasField("Topic"):
        settings["topic"] = "" if event.Topic.TopicDeleted else str(event.Topic.Topic)
    if event.HasField("Announce"):
        settings["announce"] = bool(event.Announce.IsAnnounce)
    if event.HasField("Locked"):
        settings["locked"] = bool(event.Locked.isLocked)
    if settings:
        updated: c.GroupUpdated = {"jid": group, "changes": settings, "by": by, "timestamp": when}
        found.append((c.EV_GROUP_UPDATED, dict(updated)))
    me = translate.bare_jid_string(own_jid)
    for field, action in PARTICIPANT_LISTS:
        people = [translate.resolve_person(person, None, lid_to_pn)[0] for person in getattr(event, field)]
        if not people:
            continue
        data: c.GroupParticipantsChanged = {
            "jid": group,
            "action": action,
            "participants": people,
            "by": by,
            "timestamp": when,
        }
        found.append((c.EV_GROUP_PARTICIPANTS, dict(data)))
        if action == "remove" and me in people:
            left: c.GroupLeft = {"jid": group, "by": None if by == me else by, "timestamp": when}
            found.append((c.EV_GROUP_LEFT, dict(left)))
    return found
