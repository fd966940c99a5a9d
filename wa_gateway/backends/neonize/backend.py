"""Entry point of the neonize engine: checks the runtime, then loads neonize and the backend.

Imported lazily by the engine worker only. Nothing here imports neonize at module level: the shared
library and libmagic are checked first, so a broken install is one clear error instead of a traceback
or a download attempt (docs/neonize.md §7).
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from wa_gateway.backends.neonize.runtime import NeonizeSettings, import_neonize
from wa_gateway.engine.contract import EngineBackend


def _load(settings: NeonizeSettings) -> EngineBackend:
    import_neonize(settings.log_level)
    engine = importlib.import_module("wa_gateway.backends.neonize.engine")
    binder = importlib.import_module("neonize._binder")
    backend: EngineBackend = engine.NeonizeBackend(settings, gocode=binder.gocode)
    return backend


async def create_backend(config: dict[str, Any]) -> EngineBackend:
    """Config keys: data_dir, log_level, device_name, send_presence_on_connect, reconnect_max_attempts,
    reconnect_backoff_s, qr_watchdog_s, watchdog_s, message_cache_size. Raises RuntimeError with a clear
    message when it cannot run."""
    try:
        settings = NeonizeSettings.from_config(config)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from exc
    # Loading an 18 MB library and a tree of imports takes most of a second: off the loop.
    return await asyncio.to_thread(_load, settings)
