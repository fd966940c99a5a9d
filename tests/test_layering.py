"""Which module may import or call what: the boundaries docs/architecture.md and docs/events.md draw."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import wa_gateway

PACKAGE = Path(wa_gateway.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_device_layer_does_not_import_the_websocket_package() -> None:
    for path in (PACKAGE / "devices").glob("*.py"):
        assert not {m for m in imported_modules(path) if m.startswith("wa_gateway.ws")}, path.name


def test_producers_of_events_know_no_consumer() -> None:
    consumers = ("wa_gateway.ws", "wa_gateway.webhooks", "wa_gateway.metrics", "wa_gateway.contacts.store")
    producers = [
        "devices/manager.py",
        "devices/states.py",
        "inbound.py",
        "status/inbound.py",
        "presence/tracker.py",
    ]
    for name in producers:
        leaked = {m for m in imported_modules(PACKAGE / name) if m.startswith(consumers)}
        assert not leaked, (name, leaked)


def test_only_the_engine_client_calls_the_engine_link() -> None:
    # ``.engine.request(`` or an engine link handed to a helper: the ways handlers used to bypass it.
    bypass = re.compile(r"\.engine\.request\(|\._manager\.engine,|call_engine\(")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "devices" and bypass.search(path.read_text())
    ]
    assert offenders == []
