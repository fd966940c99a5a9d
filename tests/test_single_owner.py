"""The DATA_DIR lock never outlives its owner.

See docs/architecture.md "One owner per DATA_DIR".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .processes import start_gateway, stop, wait_exit, wait_healthy
from .test_cli import sandbox_env

pytestmark = pytest.mark.slow


async def test_the_lock_is_released_when_the_owner_is_killed(tmp_path: Path, unused_tcp_port: int) -> None:
    env = sandbox_env(tmp_path, unused_tcp_port)
    first = start_gateway(env, tmp_path)
    try:
        await wait_healthy(unused_tcp_port, first)
        first.kill()
        await wait_exit(first, 10)
        second = start_gateway(env, tmp_path)
        try:
            await wait_healthy(unused_tcp_port, second)
        finally:
            stop(second)
    finally:
        stop(first)
