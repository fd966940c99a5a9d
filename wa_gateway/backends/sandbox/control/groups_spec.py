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
operation = spec.tagged("Sandbox", errors=ERRORS)

PATHS: Final[spec.PathSpec] = {
    "/sandbox/groups": {
        "post": operation(
            "A group in the simulated network; sandbox devices among the participants are in it",
            body=spec.json_body(
                spec.obj(
                    {
                        "subject": {"type": "string", "minLength": 1, "maxLength": 100},
                        "participants": PHONES,
                        "owner": {"type": "string", "description": "Digits; the first participant if absent"},
                        "admins": spec.array(spec.STRING),
                        "community": spec.BOOLEAN,
                    },
                    ("subject", "participants"),
                )
            ),
            ok=spec.envelope(spec.obj({"jid": spec.STRING})),
        )
    },
    "/sandbox/groups/{gid}/participants": {
        "post": operation(
            "A group admin adds, removes, promotes or demotes people",
            params=[GID],
            body=spec.json_body(
                spec.obj(
                    {"action": {"enum": list(c.GROUP_ACTIONS)}, "participants": PHONES, "by": spec.STRING},
                    ("action", "participants", "by"),
                )
            ),
            ok=spec.envelope(
                spec.obj(
                    {"results": spec.array(spec.obj({"participant": spec.STRING, "status": spec.STRING}))}
                )
            ),
        )
    },
    "/sandbox/groups/{gid}/messages": {
        "post": operation(
            "A member writes to the group: every connected sandbox device in it receives the message",
            params=[GID],
            body=spec.json_body(
                spec.obj({"from": spec.STRING, "text": {"type": "string", "minLength": 1}}, ("from", "text"))
            ),
            ok=spec.envelope(spec.obj({"delivered": spec.array(spec.STRING)})),
        )
    },
}
SCHEMAS: Final[dict[str, spec.Schema]] = {}
