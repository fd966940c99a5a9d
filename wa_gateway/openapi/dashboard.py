"""Spec of the dashboard routes (present unless DASHBOARD_ENABLED=false)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import PathSpec, Schema, asset_operation, operation

PATHS: Final[PathSpec] = {
    "/": {
        "get": operation(
            "Redirects to the dashboard",
            tag="Dashboard",
            public=True,
            errors=(),
            ok_status=302,
            ok_content={},
        )
    },
    "/dashboard": {
        "get": operation(
            "The browser dashboard (HTML)",
            tag="Dashboard",
            public=True,
            errors=(),
            ok_content={"text/html": {"schema": {"type": "string"}}},
        )
    },
    "/dashboard/{asset}": {"get": asset_operation("The dashboard's scripts, styles", tag="Dashboard")},
    "/favicon.ico": {
        "get": operation(
            "The dashboard's icon (browsers fetch it without the API key)",
            tag="Dashboard",
            public=True,
            errors=(),
            ok_content={"image/x-icon": {"schema": {"type": "string", "format": "binary"}}},
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
