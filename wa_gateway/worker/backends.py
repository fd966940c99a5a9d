"""Which backend module the worker loads for ``engine``, imported only when asked for."""

from __future__ import annotations

import importlib
from typing import Any, Final

from wa_gateway.engine import contract as c

BACKEND_MODULES: Final = {
    "sandbox": "wa_gateway.backends.sandbox.engine",
    "neonize": "wa_gateway.backends.neonize.backend",
}
TEST_BACKEND_MODULE_KEY: Final = "test_backend_module"


def load_backend_factory(config: dict[str, Any], test_hooks: bool) -> c.BackendFactory:
    engine = config.get("engine")
    module_name = BACKEND_MODULES.get(engine) if isinstance(engine, str) else None
    override = config.get(TEST_BACKEND_MODULE_KEY)
    if test_hooks and isinstance(override, str):
        module_name = override
    if module_name is None:
        raise LookupError(f"unknown engine {engine!r}; expected one of {sorted(BACKEND_MODULES)}")
    # Imported lazily: the neonize backend loads a Go library and must never be imported by the gateway.
    module = importlib.import_module(module_name)
    factory = getattr(module, "create_backend", None)
    if not callable(factory):
        raise LookupError(f"{module_name} has no create_backend()")
    result: c.BackendFactory = factory
    return result
