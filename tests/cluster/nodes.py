"""Several in-process gateways (sandbox engine) on one PostgreSQL database, each with its own DATA_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from tests.harness import FAST_ENGINE
from tests.servers import free_port
from wa_gateway.app import create_app
from wa_gateway.config import load_settings

from ..conftest import API_KEY

SECRET = "cluster-secret-for-tests-0123456789"


async def start_node(
    aiohttp_client: AiohttpClient, tmp_path: Path, name: str, database_url: str, **env: Any
) -> TestClient:
    port = free_port()
    values = {
        "API_KEY": API_KEY,
        "DATA_DIR": str(tmp_path / name),
        "WA_ENGINE": "sandbox",
        "TYPING_DELAY_MS": "0",
        "RATE_LIMIT_DEVICES": "0",
        "RATE_LIMIT_MESSAGES": "0",
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "NODE_ID": name,
        "NODE_URL": f"http://127.0.0.1:{port}",
        "CLUSTER_SECRET": SECRET,
        "LEASE_TTL_SECONDS": "3",
    }
    values.update({k: str(v) for k, v in env.items()})
    app = create_app(load_settings(values), engine_options=FAST_ENGINE)
    return await aiohttp_client(app, server_kwargs={"port": port})
