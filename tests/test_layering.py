"""Which module may import or call what: the boundaries docs/architecture.md and docs/events.md draw."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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
    # ``.engine.request(`` or an engine link passed to a function: the ways handlers used to bypass it.
    bypass = re.compile(r"\.engine\.request\(|\._manager\.engine,|call_engine\(")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "devices" and bypass.search(path.read_text())
    ]
    assert offenders == []


def test_the_vocabulary_imports_neither_process_dependencies() -> None:
    code = (
        "import sys, wa_gateway.vocabulary; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'aiohttp', 'neonize', 'orjson'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# The spellings the vocabulary owns: a string constant equal to one of them elsewhere is a second definition.
OWNED_WORDS = {
    "[0-9]{7,15}",
    "^[0-9]{7,15}$",
    "s.whatsapp.net",
    "@s.whatsapp.net",
    "c.us",
    "lid",
    "@lid",
    "g.us",
    "@g.us",
    "broadcast",
    "newsletter",
}


def test_tokens_and_jid_servers_are_spelled_once() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "vocabulary.py":
            continue
        tree = ast.parse(path.read_text())
        # A declared command's handler parameter may be called "newsletter": a name, not a JID server.
        names = {
            id(arg)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Arg"
            for arg in call.args[2:]
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in OWNED_WORDS and id(node) not in names:
                found.append((str(path.relative_to(PACKAGE)), node.lineno, node.value))
    assert found == []
