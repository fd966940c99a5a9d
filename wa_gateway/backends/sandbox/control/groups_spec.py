"""OpenAPI spec of the sandbox's group routes, mounted with the other sandbox routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation

STRING: Final[Schema] = {"type": "string"}
PHONES: Final[Schema] = {"type": "array", "minItems": 1, "items": {"type": "string", "description": "Digits"}}
GID: Final[Schema] = {
    "name": "gid",
    "in": "path",
    "required": True,
    "description": "Group JID (…@g.us) or its part before @g.us",
    "schema": STRING,
}
ERRORS: Final = (400, 401, 403, 404, 409)

PATHS: Final[PathSpec] = {
    "/sandbox/groups": {
        "post": operation(
            "A group in the simulated network; sandbox devices among the participants are in it",
            tag="Sandbox",
            errors=ERRORS,
            body=json_body(
                obj(
                    {
                        "subject": {"type": "string", "minLength": 1, "maxLength": 100},
                        "participants": PHONES,
                        "owner": {"type": "string", "description": "Digits; the first participant if absent"},
                        "admins": {"type": "array", "items": STRING},
                        "community": {"type": "boolean"},
                    },
                    ("subject", "participants"),
                )
            ),
            ok=envelope(obj({"jid": STRING})),
        )
    },
    "/sandbox/groups/{gid}/participants": {
        "post": operation(
            "A group admin adds, removes, promotes or demotes people",
            tag="Sandbox",
            params=[GID],
            errors=ERRORS,
            body=json_body(
                obj(
                    {"action": {"enum": list(c.GROUP_ACTIONS)}, "participants": PHONES, "by": STRING},
                    ("action", "participants", "by"),
                )
            ),
            ok=envelope(
                obj({"results": {"type": "array", "items": obj({"participant": STRING, "status": STRING})}})
            ),
        )
    },
    "/sandbox/groups/{gid}/messages": {
        "post": operation(
            "A member writes to the group: every connected sandbox device in it receives the message",
            tag="Sandbox",
            params=[GID],
            errors=ERRORS,
            body=json_body(
                obj({"from": STRING, "text": {"type": "string", "minLength": 1}}, ("from", "text"))
            ),
            ok=envelope(obj({"delivered": {"type": "array", "items": STRING}})),
        )
    },
}
SCHEMAS: Final[dict[str, Schema]] = {}
