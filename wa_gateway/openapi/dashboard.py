"""Spec of the dashboard routes (present unless DASHBOARD_ENABLED=false)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

PATHS: Final[spec.PathSpec] = {
    "/": {
        "get": spec.public_file("Redirects to the dashboard", tag="Dashboard", media_type="", ok_status=302)
    },
    "/dashboard": {
        "get": spec.public_file("The browser dashboard (HTML)", tag="Dashboard", media_type="text/html")
    },
    "/dashboard/{asset}": {"get": spec.asset_operation("The dashboard's scripts, styles", tag="Dashboard")},
    "/favicon.ico": {
        "get": spec.public_file(
            "The dashboard's icon (browsers fetch it without the API key)",
            tag="Dashboard",
            media_type="image/x-icon",
            schema={**spec.STRING, "format": "binary"},
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
