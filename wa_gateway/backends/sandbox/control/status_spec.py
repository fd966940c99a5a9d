"""OpenAPI spec of the sandbox's status route, mounted with the other sandbox routes."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec
from wa_gateway.status.openapi_spec import SANDBOX_PATHS

PATHS: Final[spec.PathSpec] = SANDBOX_PATHS
SCHEMAS: Final[dict[str, spec.Schema]] = {}
