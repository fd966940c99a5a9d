"""OpenAPI spec of presence tracking: its routes, its sandbox route and the ``presence.update`` webhook."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.events import catalog as ev
from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation, path_token

STRING: Final[Schema] = {"type": "string"}
ERRORS: Final = (400, 401, 404, 409, 429, 500, 504)
CONTACT: Final[Schema] = {"type": "string", "description": "Phone number, or a JID (…@s.whatsapp.net, …@lid)"}
# The last presence seen is what the presence.update event carried.
PRESENCE: Final[Schema] = ev.PRESENCE_UPDATE.data_schema() or {}

PATHS: Final[PathSpec] = {
    "/presence/subscribe": {
        "post": operation(
            "Subscribe to a contact's presence",
            tag="Presence",
            description=(
                "Afterwards the contact's online/offline arrives as `presence.update`. WhatsApp keeps "
                "subscriptions per connection: subscribe again after each `device.connected`."
            ),
            errors=ERRORS,
            body=json_body(obj({"token": STRING, "to": CONTACT}, ("token", "to"))),
            ok=envelope(obj({"to": STRING, "subscribed": {"type": "boolean"}})),
        )
    },
    "/presence/{token}/{phone}": {
        "get": operation(
            "The last presence this device saw of a contact (404 PRESENCE_UNKNOWN before any)",
            tag="Presence",
            params=[
                path_token(),
                {
                    "name": "phone",
                    "in": "path",
                    "required": True,
                    "description": "The contact",
                    "schema": CONTACT,
                },
            ],
            errors=(400, 401, 404, 429),
            ok=envelope(PRESENCE),
        )
    },
}

SANDBOX_PATHS: Final[PathSpec] = {
    "/sandbox/devices/{token}/presence": {
        "post": operation(
            "A contact goes online or offline, or types in a chat",
            tag="Sandbox",
            description=(
                "available/unavailable reach the device only when it subscribed to the contact "
                "(`delivered: false` otherwise); composing, recording and paused always do."
            ),
            params=[path_token()],
            errors=(400, 401, 404, 409),
            body=json_body(
                obj(
                    {
                        "from": {"type": "string", "description": "Digits of the contact"},
                        "state": {"enum": list(c.PRESENCE_STATES)},
                        "lastSeen": {"type": "string", "description": "ISO 8601, with unavailable"},
                        "chat": {"type": "string", "description": "Digits or a group JID; typing only"},
                    },
                    ("from", "state"),
                )
            ),
            ok=envelope(obj({"delivered": {"type": "boolean"}})),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
