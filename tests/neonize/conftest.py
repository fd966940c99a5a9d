"""Fixtures for the neonize backend: the real neonize package and proto classes, a fake Go core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wa_gateway.backends.neonize.runtime import NeonizeSettings, import_neonize
from wa_gateway.clock import ManualClock

# The real package, checked and imported the way the worker does it (logging side effects undone),
# before anything else imports it.
import_neonize("warning")

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, make_paired_db  # noqa: E402
from wa_gateway.backends.neonize.engine import NeonizeBackend  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> NeonizeSettings:
    return NeonizeSettings.from_config(
        {"data_dir": str(tmp_path), "reconnect_backoff_s": 2, "reconnect_jitter": 0}
    )


@pytest.fixture
def fake_go() -> FakeGo:
    return FakeGo()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def backend(
    settings: NeonizeSettings, fake_go: FakeGo, clock: ManualClock, recorder: Recorder
) -> AsyncIterator[NeonizeBackend]:
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    fake_go.lock = engine.context.lock
    await engine.start(recorder)
    try:
        yield engine
    finally:
        await engine.close()
        fake_go.release()


@pytest.fixture
def session_db(settings: NeonizeSettings) -> Path:
    return settings.sessions_dir / f"{TOKEN}.db"


@pytest.fixture
async def connected(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> FakeSession:
    """A connected, paired device; Go's side of its session."""
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    session = await fake_go.next_session()
    await recorder.wait_for("connected")
    return session
