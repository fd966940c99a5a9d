"""OpenAPI spec of the /groups routes and the group.* webhooks (docs/groups.md)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.engine import contract as c
from wa_gateway.groups.fields import MAX_PARTICIPANTS, MAX_SUBJECT_CHARS, MAX_TOPIC_CHARS
from wa_gateway.openapi import builders as spec

TAG: Final = "Groups"
READ_ERRORS: Final = (400, 401, 404, 409, 429, 500, 503, 504)
CHANGE_ERRORS: Final = (400, 401, 403, 404, 409, 429, 500, 503, 504)
PEOPLE: Final[spec.Schema] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_PARTICIPANTS,
    "items": {"type": "string", "minLength": 1, "description": "Phone number, or a phone/LID JID"},
}
JPEG: Final[spec.Schema] = {"type": "string", "format": "binary"}
ACTION: Final[spec.Schema] = {"enum": list(c.GROUP_ACTIONS)}
SUBJECT: Final[spec.Schema] = {"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT_CHARS}

GROUP_SUMMARY: Final[spec.Schema] = spec.obj(
    {"jid": spec.STRING, "subject": spec.STRING, "participants": spec.INTEGER},
    ("jid", "subject", "participants"),
)
GROUP_DETAILS: Final[spec.Schema] = spec.obj(
    {
        "jid": spec.STRING,
        "subject": spec.STRING,
        "topic": spec.STRING,
        "owner": spec.NULLABLE_STRING,
        "createdAt": {"type": ["string", "null"]},
        "participants": {
            "type": "array",
            "items": spec.obj(
                {
                    "jid": spec.STRING,
                    "phone": spec.NULLABLE_STRING,
                    "isAdmin": spec.BOOLEAN,
                    "isSuperAdmin": spec.BOOLEAN,
                },
                ("jid", "isAdmin", "isSuperAdmin"),
            ),
        },
    },
    ("jid", "subject", "participants"),
)


def _gid(name: str = "gid", what: str = "Group JID (…@g.us) or its part before @g.us") -> spec.Schema:
    return spec.path_param(name, spec.STRING, what)


def _op(
    summary: str, *, ok: spec.Schema, errors: tuple[int, ...] = CHANGE_ERRORS, **extra: Any
) -> dict[str, Any]:
    params = extra.pop("params", [spec.path_token(), _gid()])
    return spec.operation(summary, tag=TAG, params=params, errors=errors, ok=spec.envelope(ok), **extra)


GROUP_REF: Final[spec.Schema] = spec.obj({"jid": spec.STRING})
INVITE: Final[spec.Schema] = spec.obj({"jid": spec.STRING, "link": spec.STRING})
LINK: Final[spec.Schema] = spec.obj({"parent": spec.STRING, "child": spec.STRING, "linked": spec.BOOLEAN})

PATHS: Final[spec.PathSpec] = {
    "/groups/{token}": {
        "get": _op(
            "Groups the device is in",
            params=[spec.path_token()],
            errors=READ_ERRORS,
            ok=spec.obj({"groups": {"type": "array", "items": GROUP_SUMMARY}, "total": spec.INTEGER}),
        ),
        "post": _op(
            "Create a group (a community with community: true); the device is its super admin",
            params=[spec.path_token()],
            body=spec.json_body(
                spec.obj(
                    {"subject": SUBJECT, "participants": PEOPLE, "community": spec.BOOLEAN},
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
            body=spec.json_body(
                spec.obj(
                    {
                        "subject": SUBJECT,
                        "topic": {"type": "string", "maxLength": MAX_TOPIC_CHARS},
                        "announce": spec.BOOLEAN,
                        "locked": spec.BOOLEAN,
                    },
                    minProperties=1,
                )
            ),
            ok=spec.obj({"jid": spec.STRING, "changed": {"type": "array", "items": spec.STRING}}),
        ),
        "delete": _op("Leave the group", ok=spec.obj({"jid": spec.STRING, "left": spec.BOOLEAN})),
    },
    "/groups/{token}/{gid}/picture": {
        "put": _op(
            "Set the group's picture",
            body={
                "required": True,
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            },
            ok=spec.obj({"jid": spec.STRING, "pictureId": spec.NULLABLE_STRING}),
            errors=(*CHANGE_ERRORS, 413),
        )
    },
    "/groups/{token}/{gid}/participants": {
        "post": _op(
            "Add, remove, promote or demote participants; one result per person",
            body=spec.json_body(
                spec.obj(
                    {"action": {"enum": list(c.GROUP_ACTIONS)}, "participants": PEOPLE},
                    ("action", "participants"),
                )
            ),
            ok=spec.obj(
                {
                    "jid": spec.STRING,
                    "action": spec.STRING,
                    "results": {
                        "type": "array",
                        "items": spec.obj(
                            {"participant": spec.STRING, "status": spec.STRING}, ("participant", "status")
                        ),
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
            params=[spec.path_token()],
            body=spec.json_body(spec.obj({"invite": {"type": "string", "minLength": 1}}, ("invite",))),
            ok=GROUP_REF,
        )
    },
    "/groups/{token}/invite/{code}": {
        "get": _op(
            "The group an invite is for, without joining it",
            params=[spec.path_token(), _gid("code", "The invite code (the end of its link)")],
            ok=GROUP_DETAILS,
        )
    },
    "/groups/{token}/{gid}/requests": {
        "get": _op(
            "People asking to join (groups that need admin approval)",
            ok=spec.obj(
                {
                    "jid": spec.STRING,
                    "requests": {
                        "type": "array",
                        "items": spec.obj({"jid": spec.STRING, "requestedAt": {"type": ["string", "null"]}}),
                    },
                }
            ),
        )
    },
    "/groups/{token}/{gid}/links": {
        "post": _op(
            "Link a group into this community",
            params=[spec.path_token(), _gid(what="The community's JID")],
            body=spec.json_body(spec.obj({"child": {"type": "string", "minLength": 1}}, ("child",))),
            ok=LINK,
        )
    },
    "/groups/{token}/{gid}/links/{child}": {
        "delete": _op(
            "Unlink a group from this community",
            params=[
                spec.path_token(),
                _gid(what="The community's JID"),
                _gid("child", "The linked group's JID"),
            ],
            ok=LINK,
        )
    },
    "/groups/{token}/{gid}/subgroups": {
        "get": _op(
            "The groups of a community",
            params=[spec.path_token(), _gid(what="The community's JID")],
            ok=spec.obj(
                {
                    "parent": spec.STRING,
                    "groups": {
                        "type": "array",
                        "items": spec.obj(
                            {"jid": spec.STRING, "subject": spec.STRING, "isDefault": spec.BOOLEAN}
                        ),
                    },
                    "total": spec.INTEGER,
                }
            ),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
BY: Final[spec.Schema] = {
    **spec.NULLABLE_STRING,
    "description": "Who did it (a JID); null when the device did it",
}
