"""Shared fixtures: settings from an environment dict, and the real app on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.config import Settings, load_settings

API_KEY = "test-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    def factory(**env: Any) -> Settings:
        values = {"API_KEY": API_KEY, "DATA_DIR": str(tmp_path / "data"), "WA_ENGINE": "sandbox"}
        values.update({k: str(v) for k, v in env.items()})
        return load_settings(values)

    return factory
