"""OpenAPI spec of the sandbox's channel routes, mounted with the other sandbox routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.channels.openapi_spec import SANDBOX_PATHS
from wa_gateway.openapi.builders import PathSpec, Schema

PATHS: Final[PathSpec] = SANDBOX_PATHS
SCHEMAS: Final[dict[str, Schema]] = {}
