"""Spec of the contacts route."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import (
    TIMESTAMP,
    PathSpec,
    Schema,
    envelope,
    obj,
    operation,
    path_token,
    query,
    ref,
)

CONTACT: Final[Schema] = obj(
    {
        "phone": {"type": "string"},
        "name": {"type": "string"},
        "source": {"enum": ["message", "history"]},
        "firstSeen": TIMESTAMP,
        "lastSeen": TIMESTAMP,
    },
    ("phone", "name", "source", "firstSeen", "lastSeen"),
)

PATHS: Final[PathSpec] = {
    "/contacts/{token}": {
        "get": operation(
            "Captured contacts: JSON pages, or CSV with format=csv",
            tag="Contacts",
            params=[
                path_token(),
                query("limit", {"type": "integer", "minimum": 1}, "Page size (default 100, at most 1000)"),
                query("offset", {"type": "integer", "minimum": 0}, "Rows to skip"),
                query("format", {"type": "string"}, "csv for CSV (all contacts unless limit/offset)"),
            ],
            errors=(400, 401, 404, 429, 500),
            ok_content={
                "application/json": {
                    "schema": envelope(
                        obj(
                            {
                                "contacts": {"type": "array", "items": ref("Contact")},
                                "total": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                                "hasMore": {"type": "boolean"},
                            },
                            ("contacts", "total", "limit", "offset"),
                        )
                    )
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        )
    }
}

SCHEMAS: Final[dict[str, Schema]] = {"Contact": CONTACT}
