"""OpenAPI spec of the sandbox's group routes, mounted with the other sandbox routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.openapi import builders as spec

PHONES: Final[spec.Schema] = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "description": "Digits"},
}
GID: Final[spec.Schema] = spec.path_param("gid", spec.STRING, "Group JID (…@g.us) or its part before @g.us")
ERRORS: Final = (400, 401, 403, 404, 409)

PATHS: Final[spec.PathSpec] = {
    "/sandbox/groups": {
        "post": spec.operation(
            "A group in the simulated network; sandbox devices among the participants are in it",
            tag="Sandbox",
            errors=ERRORS,
            body=spec.json_body(
                spec.obj(
                    {
                        "subject": {"type": "string", "minLength": 1, "maxLength": 100},
                        "participants": PHONES,
                        "owner": {"type": "string", "description": "Digits; the first participant if absent"},
                        "admins": {"type": "array", "items": spec.STRING},
                        "community": spec.BOOLEAN,
                    },
                    ("subject", "participants"),
                )
            ),
            ok=spec.envelope(spec.obj({"jid": spec.STRING})),
        )
    },
    "/sandbox/groups/{gid}/participants": {
        "post": spec.operation(
            "A group admin adds, removes, promotes or demotes people",
            tag="Sandbox",
            params=[GID],
            errors=ERRORS,
            body=spec.json_body(
                spec.obj(
                    {"action": {"enum": list(c.GROUP_ACTIONS)}, "participants": PHONES, "by": spec.STRING},
                    ("action", "participants", "by"),
                )
            ),
            ok=spec.envelope(
                spec.obj(
                    {
                        "results": {
                            "type": "array",
                            "items": spec.obj({"participant": spec.STRING, "status": spec.STRING}),
                        }
                    }
                )
            ),
        )
    },
    "/sandbox/groups/{gid}/messages": {
        "post": spec.operation(
            "A member writes to the group: every connected sandbox device in it receives the message",
            tag="Sandbox",
            params=[GID],
            errors=ERRORS,
            body=spec.json_body(
                spec.obj({"from": spec.STRING, "text": {"type": "string", "minLength": 1}}, ("from", "text"))
            ),
            ok=spec.envelope(spec.obj({"delivered": {"type": "array", "items": spec.STRING}})),
        )
    },
}
SCHEMAS: Final[dict[str, spec.Schema]] = {}
