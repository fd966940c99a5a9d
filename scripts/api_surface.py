#!/usr/bin/env python3
"""Print the gateway's API surface: the OpenAPI document, the routes and the error catalog.

For refactors that must not change what users see: run it before and after, and ``diff`` the two outputs.
Each configuration is built without being started (no database, broker or engine is reached), one with every
optional feature on (sandbox control routes, webhooks, dashboard, cluster, NATS) and one with the fewest.

    .venv/bin/python scripts/api_surface.py > before.txt
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wa_gateway import errors  # noqa: E402
from wa_gateway.app import create_app  # noqa: E402
from wa_gateway.config import load_settings  # noqa: E402
from wa_gateway.openapi.document import OpenApiRoutes  # noqa: E402

FULLEST = {
    "WA_ENGINE": "sandbox",
    "WEBHOOK_URL": "http://127.0.0.1:9/hook",
    "DATABASE_URL": "postgresql://gateway:secret@127.0.0.1:9/gateway",
    "CLUSTER_SECRET": "cluster-secret-0123456789abcdef",
    "NODE_URL": "http://127.0.0.1:9",
    "NATS_URL": "nats://127.0.0.1:9",
}
FEWEST = {"WA_ENGINE": "neonize", "DASHBOARD_ENABLED": "false"}


def surface(env: dict[str, str], data_dir: str) -> list[str]:
    app = create_app(load_settings({"API_KEY": "surface-api-key-0123456789", "DATA_DIR": data_dir, **env}))
    lines: list[str] = []
    for route in app.router.routes():
        handler: Any = route.handler
        canonical = route.resource.canonical if route.resource is not None else ""
        lines.append(f"route {route.method} {canonical} {getattr(handler, '__qualname__', handler)}")
        owner = getattr(handler, "__self__", None)
        if isinstance(owner, OpenApiRoutes) and route.method == "GET" and canonical == "/openapi.json":
            lines.append(f"openapi {owner._body.decode()}")
    return lines


def catalog() -> list[str]:
    return [
        f"error {name} {value!r}"
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, errors.ErrorSpec | str)
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        for name, env in (("fullest", FULLEST), ("fewest", FEWEST)):
            print(f"== {name}")
            print("\n".join(surface(env, str(Path(data_dir) / name))))
    print("== errors")
    print("\n".join(catalog()))


if __name__ == "__main__":
    main()
