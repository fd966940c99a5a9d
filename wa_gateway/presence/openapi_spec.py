"""OpenAPI spec of presence tracking: its routes, its sandbox route and the ``presence.update`` webhook."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.events import catalog as ev
from wa_gateway.openapi import builders as spec

ERRORS: Final = (400, 401, 404, 409, 429, 500, 504)
CONTACT: Final[spec.Schema] = {
    "type": "string",
    "description": "Phone number, or a JID (…@s.whatsapp.net, …@lid)",
}
# The last presence seen is what the presence.update event carried.
PRESENCE: Final[spec.Schema] = ev.PRESENCE_UPDATE.data_schema() or {}

PATHS: Final[spec.PathSpec] = {
    "/presence/subscribe": {
        "post": spec.operation(
            "Subscribe to a contact's presence",
            tag="Presence",
            description=(
                "Afterwards the contact's online/offline arrives as `presence.update`. WhatsApp keeps "
                "subscriptions per connection: subscribe again after each `device.connected`."
            ),
            errors=ERRORS,
            body=spec.json_body(spec.obj({"token": spec.STRING, "to": CONTACT}, ("token", "to"))),
            ok=spec.envelope(spec.obj({"to": spec.STRING, "subscribed": spec.BOOLEAN})),
        )
    },
    "/presence/{token}/{phone}": {
        "get": spec.operation(
            "The last presence this device saw of a contact (404 PRESENCE_UNKNOWN before any)",
            tag="Presence",
            params=[
                spec.path_token(),
                spec.path_param("phone", CONTACT, "The contact"),
            ],
            errors=(400, 401, 404, 429),
            ok=spec.envelope(PRESENCE),
        )
    },
}

SANDBOX_PATHS: Final[spec.PathSpec] = {
    "/sandbox/devices/{token}/presence": {
        "post": spec.operation(
            "A contact goes online or offline, or types in a chat",
            tag="Sandbox",
            description=(
                "available/unavailable reach the device only when it subscribed to the contact "
                "(`delivered: false` otherwise); composing, recording and paused always do."
            ),
            params=[spec.path_token()],
            errors=(400, 401, 404, 409),
            body=spec.json_body(
                spec.obj(
                    {
                        "from": {"type": "string", "description": "Digits of the contact"},
                        "state": {"enum": list(c.PRESENCE_STATES)},
                        "lastSeen": {"type": "string", "description": "ISO 8601, with unavailable"},
                        "chat": {"type": "string", "description": "Digits or a group JID; typing only"},
                    },
                    ("from", "state"),
                )
            ),
            ok=spec.envelope(spec.obj({"delivered": spec.BOOLEAN})),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
