"""OpenAPI spec of the /groups routes and the group.* webhooks (docs/groups.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.groups.fields import MAX_PARTICIPANTS, MAX_SUBJECT_CHARS, MAX_TOPIC_CHARS
from wa_gateway.openapi.builders import (
    NULLABLE_STRING,
    PathSpec,
    Schema,
    envelope,
    json_body,
    obj,
    operation,
    path_token,
)

STRING: Final[Schema] = {"type": "string"}
BOOLEAN: Final[Schema] = {"type": "boolean"}
TAG: Final = "Groups"
READ_ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
CHANGE_ERRORS: Final = (400, 401, 403, 404, 409, 429, 500, 503, 504)
PEOPLE: Final[Schema] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_PARTICIPANTS,
    "items": {"type": "string", "minLength": 1, "description": "Phone number, or a phone/LID JID"},
}
JPEG: Final[Schema] = {"type": "string", "format": "binary"}
ACTION: Final[Schema] = {"enum": list(c.GROUP_ACTIONS)}
SUBJECT: Final[Schema] = {"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT_CHARS}

GROUP_SUMMARY: Final[Schema] = obj(
    {"jid": STRING, "subject": STRING, "participants": {"type": "integer"}},
    ("jid", "subject", "participants"),
)
GROUP_DETAILS: Final[Schema] = obj(
    {
        "jid": STRING,
        "subject": STRING,
        "topic": STRING,
        "owner": NULLABLE_STRING,
        "createdAt": {"type": ["string", "null"]},
        "participants": {
            "type": "array",
            "items": obj(
                {"jid": STRING, "phone": NULLABLE_STRING, "isAdmin": BOOLEAN, "isSuperAdmin": BOOLEAN},
                ("jid", "isAdmin", "isSuperAdmin"),
            ),
        },
    },
    ("jid", "subject", "participants"),
)


def _gid(name: str = "gid", what: str = "Group JID (…@g.us) or its part before @g.us") -> Schema:
    return {"name": name, "in": "path", "required": True, "description": what, "schema": STRING}


def _op(summary: str, *, ok: Schema, errors: tuple[int, ...] = CHANGE_ERRORS, **extra: Any) -> dict[str, Any]:
    params = extra.pop("params", [path_token(), _gid()])
    return operation(summary, tag=TAG, params=params, errors=errors, ok=envelope(ok), **extra)


GROUP_REF: Final[Schema] = obj({"jid": STRING})
INVITE: Final[Schema] = obj({"jid": STRING, "link": STRING})
LINK: Final[Schema] = obj({"parent": STRING, "child": STRING, "linked": BOOLEAN})

PATHS: Final[PathSpec] = {
    "/groups/{token}": {
        "get": _op(
            "Groups the device is in",
            params=[path_token()],
            errors=READ_ERRORS,
            ok=obj({"groups": {"type": "array", "items": GROUP_SUMMARY}, "total": {"type": "integer"}}),
        ),
        "post": _op(
            "Create a group (a community with community: true); the device is its super admin",
            params=[path_token()],
            body=json_body(
                obj(
                    {"subject": SUBJECT, "participants": PEOPLE, "community": BOOLEAN},
                    ("subject", "participants"),
                )
            ),
            ok=GROUP_DETAILS,
        ),
    },
    "/groups/{token}/{gid}": {
        "get": _op("One group: subject, topic, owner and participants", errors=READ_ERRORS, ok=GROUP_DETAILS),
        "patch": _op(
            "Change a group's subject, topic (description), announce (only admins write) or locked "
            "(only admins edit the group's info)",
            body=json_body(
                obj(
                    {
                        "subject": SUBJECT,
                        "topic": {"type": "string", "maxLength": MAX_TOPIC_CHARS},
                        "announce": BOOLEAN,
                        "locked": BOOLEAN,
                    },
                    minProperties=1,
                )
            ),
            ok=obj({"jid": STRING, "changed": {"type": "array", "items": STRING}}),
        ),
        "delete": _op("Leave the group", ok=obj({"jid": STRING, "left": BOOLEAN})),
    },
    "/groups/{token}/{gid}/picture": {
        "put": _op(
            "Set the group's picture",
            body={
                "required": True,
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            },
            ok=obj({"jid": STRING, "pictureId": NULLABLE_STRING}),
            errors=(*CHANGE_ERRORS, 413),
        )
    },
    "/groups/{token}/{gid}/participants": {
        "post": _op(
            "Add, remove, promote or demote participants; one result per person",
            body=json_body(
                obj(
                    {"action": {"enum": list(c.GROUP_ACTIONS)}, "participants": PEOPLE},
                    ("action", "participants"),
                )
            ),
            ok=obj(
                {
                    "jid": STRING,
                    "action": STRING,
                    "results": {
                        "type": "array",
                        "items": obj({"participant": STRING, "status": STRING}, ("participant", "status")),
                    },
                }
            ),
        )
    },
    "/groups/{token}/{gid}/invite": {
        "get": _op("The group's invite link (admins)", ok=INVITE),
        "delete": _op("Revoke the invite link; the answer is the new one", ok=INVITE),
    },
    "/groups/{token}/join": {
        "post": _op(
            "Join a group by its invite link or code",
            params=[path_token()],
            body=json_body(obj({"invite": {"type": "string", "minLength": 1}}, ("invite",))),
            ok=GROUP_REF,
        )
    },
    "/groups/{token}/invite/{code}": {
        "get": _op(
            "The group an invite is for, without joining it",
            params=[path_token(), _gid("code", "The invite code (the end of its link)")],
            ok=GROUP_DETAILS,
        )
    },
    "/groups/{token}/{gid}/requests": {
        "get": _op(
            "People asking to join (groups that need admin approval)",
            ok=obj(
                {
                    "jid": STRING,
                    "requests": {
                        "type": "array",
                        "items": obj({"jid": STRING, "requestedAt": {"type": ["string", "null"]}}),
                    },
                }
            ),
        )
    },
    "/groups/{token}/{gid}/links": {
        "post": _op(
            "Link a group into this community",
            params=[path_token(), _gid(what="The community's JID")],
            body=json_body(obj({"child": {"type": "string", "minLength": 1}}, ("child",))),
            ok=LINK,
        )
    },
    "/groups/{token}/{gid}/links/{child}": {
        "delete": _op(
            "Unlink a group from this community",
            params=[path_token(), _gid(what="The community's JID"), _gid("child", "The linked group's JID")],
            ok=LINK,
        )
    },
    "/groups/{token}/{gid}/subgroups": {
        "get": _op(
            "The groups of a community",
            params=[path_token(), _gid(what="The community's JID")],
            ok=obj(
                {
                    "parent": STRING,
                    "groups": {
                        "type": "array",
                        "items": obj({"jid": STRING, "subject": STRING, "isDefault": BOOLEAN}),
                    },
                    "total": {"type": "integer"},
                }
            ),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
BY: Final[Schema] = {**NULLABLE_STRING, "description": "Who did it (a JID); null when the device did it"}
