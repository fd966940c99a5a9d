"""neonize's Go group functions, as FakeGo answers them: each takes the arguments neonize's async client
passes (the line of neonize/aioze/client.py named) and returns what Go returns, a protobuf or an error
string; refusals carry whatsmeow's own error texts (errors.go)."""

from __future__ import annotations

import ctypes
from typing import Any, Final

from neonize.proto import Neonize_pb2 as P
from neonize.utils import build_jid

OWN_USER: Final = "15550000001"  # the account of the fakes' paired device (neonize_fakes.TOKEN)
# whatsmeow IQError.Error(): "info query returned status %d: %s" (ErrIQForbidden, ErrIQNotFound).
FORBIDDEN: Final = "info query returned status 403: forbidden"
NOT_FOUND: Final = "info query returned status 404: item-not-found"
# whatsmeow group.go JoinGroupWithLink/GetGroupInfoFromLink map 406 and 410 to these.
INVITE_INVALID: Final = "that group invite link is not valid"
INVITE_REVOKED: Final = "that group invite link has been revoked"


class GroupCalls:
    """Mixed into FakeGo; ``groups`` are its GroupInfo protos, ``group_refusal`` what a change answers."""

    groups: list[Any]
    group_refusal: str
    invites: dict[str, str]  # invite code -> group user
    revoked: set[str]
    join_requests: list[Any]
    sub_groups: dict[str, list[str]]  # community user -> linked group users

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _group(self, jid_bytes: bytes) -> Any | None:
        wanted = P.JID.FromString(jid_bytes)
        return next((g for g in self.groups if g.JID.User == wanted.User), None)

    def _change(self, name: str, args: tuple[Any, ...]) -> tuple[Any | None, str]:
        self._record(name, args)
        group = self._group(args[1])
        if group is None:
            return None, NOT_FOUND
        return group, self.group_refusal

    def GenerateMessageID(self, *args: Any) -> bytes:  # aioze/client.py:2039
        self._record("GenerateMessageID", args)
        return b"3EB0CREATEKEY"

    def CreateGroup(self, *args: Any) -> bytes:  # aioze/client.py:2919
        self._record("CreateGroup", args)
        request = P.ReqCreateGroup.FromString(args[1])
        me = P.GroupParticipant(JID=build_jid(OWN_USER), IsAdmin=True, IsSuperAdmin=True)
        others = [P.GroupParticipant(JID=person) for person in request.Participants]
        group = P.GroupInfo(
            JID=build_jid(f"1203630000000000{len(self.groups) + 10}", "g.us"),
            OwnerJID=build_jid(OWN_USER),
            GroupName=P.GroupName(Name=request.name),
            GroupCreated=1_700_000_000,
            Participants=[me, *others],
        )
        self.groups.append(group)
        return P.GetGroupInfoReturnFunction(GroupInfo=group).SerializePartialToString()

    def UpdateGroupParticipants(self, *args: Any) -> bytes:  # aioze/client.py:2857
        group, error = self._change("UpdateGroupParticipants", args)
        if error:
            return P.UpdateGroupParticipantsReturnFunction(Error=error).SerializePartialToString()
        action = args[5].decode()
        answers = []
        for person in P.JIDArray.FromString(args[3]).JIDS:
            member = next((p for p in group.Participants if p.JID.User == person.User), None)
            # whatsmeow parseParticipant: the per-person "error" attribute (409 already in, 404 not in).
            if action == "add" and member is not None:
                answers.append(P.GroupParticipant(JID=person, Error=409))
            elif action != "add" and member is None:
                answers.append(P.GroupParticipant(JID=person, Error=404))
            else:
                if action == "add":
                    group.Participants.append(P.GroupParticipant(JID=person))
                elif action == "remove":
                    group.Participants.remove(member)
                else:
                    member.IsAdmin = action == "promote"
                answers.append(P.GroupParticipant(JID=person, IsAdmin=action == "promote"))
        return P.UpdateGroupParticipantsReturnFunction(participants=answers).SerializePartialToString()

    def SetGroupName(self, *args: Any) -> bytes:  # aioze/client.py:2206, the name as a ctypes buffer
        group, error = self._change("SetGroupName", args)
        if not error:
            buffer: ctypes.Array[ctypes.c_char] = args[3]
            group.GroupName.Name = buffer.value.decode()
        return error.encode()

    def SetGroupTopic(self, *args: Any) -> bytes:  # aioze/client.py:2711 (previous id, new id, topic)
        group, error = self._change("SetGroupTopic", args)
        if not error:
            group.GroupTopic.Topic = args[5].decode()
        return error.encode()

    def SetGroupAnnounce(self, *args: Any) -> bytes:  # aioze/client.py:2673
        group, error = self._change("SetGroupAnnounce", args)
        if not error:
            group.GroupAnnounce.IsAnnounce = bool(args[3])
        return error.encode()

    def SetGroupLocked(self, *args: Any) -> bytes:  # aioze/client.py:2690
        group, error = self._change("SetGroupLocked", args)
        if not error:
            group.GroupLocked.isLocked = bool(args[3])
        return error.encode()

    def SetGroupPhoto(self, *args: Any) -> bytes:  # aioze/client.py:2229 (jid, len, data, len)
        _, error = self._change("SetGroupPhoto", args)
        answer = (
            P.SetGroupPhotoReturnFunction(Error=error)
            if error
            else P.SetGroupPhotoReturnFunction(PictureID="1700000777")
        )
        return answer.SerializePartialToString()

    def LeaveGroup(self, *args: Any) -> bytes:  # aioze/client.py:2326
        group, error = self._change("LeaveGroup", args)
        if group is not None:
            self.groups.remove(group)
            return b""
        return error.encode()

    def GetGroupInviteLink(self, *args: Any) -> bytes:  # aioze/client.py:2342 (jid, len, revoke)
        group, error = self._change("GetGroupInviteLink", args)
        if error:
            return P.GetGroupInviteLinkReturnFunction(Error=error).SerializePartialToString()
        code = next((c for c, user in self.invites.items() if user == group.JID.User), None)
        if code is None or args[3]:
            if code is not None:
                self.revoked.add(code)
                del self.invites[code]
            code = f"Inv{group.JID.User[-6:]}{len(self.revoked)}x"
            self.invites[code] = group.JID.User
        link = f"https://chat.whatsapp.com/{code}"
        return P.GetGroupInviteLinkReturnFunction(InviteLink=link).SerializePartialToString()

    def _invited(self, code: str) -> tuple[Any | None, str]:
        if code in self.revoked:
            return None, INVITE_REVOKED
        user = self.invites.get(code)
        group = next((g for g in self.groups if g.JID.User == user), None)
        return group, "" if group is not None else INVITE_INVALID

    def JoinGroupWithLink(self, *args: Any) -> bytes:  # aioze/client.py:2359 (the code)
        self._record("JoinGroupWithLink", args)
        group, error = self._invited(args[1].decode())
        if error:
            return P.JoinGroupWithLinkReturnFunction(Error=error).SerializePartialToString()
        return P.JoinGroupWithLinkReturnFunction(Jid=group.JID).SerializePartialToString()

    def GetGroupInfoFromLink(self, *args: Any) -> bytes:  # aioze/client.py:2152
        self._record("GetGroupInfoFromLink", args)
        group, error = self._invited(args[1].decode())
        if error:
            return P.GetGroupInfoReturnFunction(Error=error).SerializePartialToString()
        return P.GetGroupInfoReturnFunction(GroupInfo=group).SerializePartialToString()

    def GetGroupRequestParticipants(self, *args: Any) -> bytes:  # aioze/client.py:2936
        _, error = self._change("GetGroupRequestParticipants", args)
        if error:
            return P.GetGroupRequestParticipantsReturnFunction(Error=error).SerializePartialToString()
        answer = P.GetGroupRequestParticipantsReturnFunction(Participants=self.join_requests)
        return answer.SerializePartialToString()

    def LinkGroup(self, *args: Any) -> bytes:  # aioze/client.py:2409 (parent, len, child, len)
        self._record("LinkGroup", args)
        if self.group_refusal:
            return self.group_refusal.encode()
        parent, child = P.JID.FromString(args[1]).User, P.JID.FromString(args[3]).User
        self.sub_groups.setdefault(parent, []).append(child)
        return b""

    def UnlinkGroup(self, *args: Any) -> bytes:  # aioze/client.py:2806
        self._record("UnlinkGroup", args)
        parent, child = P.JID.FromString(args[1]).User, P.JID.FromString(args[3]).User
        linked = self.sub_groups.get(parent, [])
        if child not in linked:
            return NOT_FOUND.encode()
        linked.remove(child)
        return b""

    def GetSubGroups(self, *args: Any) -> bytes:  # aioze/client.py:3134
        self._record("GetSubGroups", args)
        parent = P.JID.FromString(args[1]).User
        targets = []
        for user in self.sub_groups.get(parent, []):
            group = next((g for g in self.groups if g.JID.User == user), None)
            name = group.GroupName.Name if group is not None else ""
            targets.append(P.GroupLinkTarget(JID=build_jid(user, "g.us"), GroupName=P.GroupName(Name=name)))
        return P.GetSubGroupsReturnFunction(GroupLinkTarget=targets).SerializePartialToString()
