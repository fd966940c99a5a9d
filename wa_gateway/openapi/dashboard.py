"""Spec of the dashboard routes (present unless DASHBOARD_ENABLED=false)."""

from __future__ import annotations

from typing import Final

from .builders import PathSpec, Schema, operation

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
    "/dashboard/{asset}": {
        "get": operation(
            "The dashboard's script and style sheet",
            tag="Dashboard",
            public=True,
            errors=(404,),
            params=[{"name": "asset", "in": "path", "required": True, "schema": {"type": "string"}}],
            ok_content={
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
            },
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
