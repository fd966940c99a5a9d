"""Spec of the contacts route."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

CONTACT: Final[spec.Schema] = spec.obj(
    {
        "phone": spec.STRING,
        "name": spec.STRING,
        "source": {"enum": ["message", "history"]},
        "firstSeen": spec.TIMESTAMP,
        "lastSeen": spec.TIMESTAMP,
    },
    ("phone", "name", "source", "firstSeen", "lastSeen"),
)

PATHS: Final[spec.PathSpec] = {
    "/contacts/{token}": {
        "get": spec.operation(
            "Captured contacts: JSON pages, or CSV with format=csv",
            tag="Contacts",
            params=[
                spec.path_token(),
                *spec.paging(),
                spec.query("format", spec.STRING, "csv for CSV (all contacts unless limit/offset)"),
            ],
            errors=(400, 401, 404, 429, 500),
            ok_content={
                "application/json": {
                    "schema": spec.envelope(
                        spec.page("contacts", spec.ref("Contact"), ("contacts", "total", "limit", "offset"))
                    )
                },
                "text/csv": {"schema": spec.STRING},
            },
        )
    }
}

SCHEMAS: Final[dict[str, spec.Schema]] = {"Contact": CONTACT}
