"""Fixtures for the engine: an event recorder, a sandbox backend on a ManualClock, deadline-based waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.clock import ManualClock

DEADLINE_S = 10.0

Event = tuple[str, str, dict[str, Any]]


async def wait_until(
    predicate: Callable[[], bool], deadline_s: float = DEADLINE_S, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it holds; fail after ``deadline_s`` seconds of real time."""
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)  # polling with a deadline: a positive condition, never a negative check


class EventRecorder:
    """Collects ``emit(token, event, data)`` calls in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, token: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((token, event, data))

    def of(self, event: str, token: str | None = None) -> list[dict[str, Any]]:
        return [d for t, e, d in self.events if e == event and (token is None or t == token)]

    def names(self, token: str | None = None) -> list[str]:
        return [e for t, e, _ in self.events if token is None or t == token]

    async def wait_for(self, event: str, count: int = 1, token: str | None = None) -> list[dict[str, Any]]:
        await wait_until(lambda: len(self.of(event, token)) >= count, what=f"{count} x {event}")
        return self.of(event, token)


async def advance(clock: ManualClock, seconds: float, sleepers: int = 1) -> None:
    """Advance once the code under test is asleep on the clock (it registers asynchronously)."""
    await wait_until(lambda: clock.sleepers >= sleepers, what=f"{sleepers} sleeper(s) on the clock")
    clock.advance(seconds)
    await asyncio.sleep(0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture
async def make_sandbox(
    tmp_path: Path, clock: ManualClock, recorder: EventRecorder
) -> AsyncIterator[Callable[..., Any]]:
    """Builds started sandbox backends over ``tmp_path/data``; each is closed at teardown."""
    backends: list[SandboxBackend] = []

    async def factory(**options: Any) -> SandboxBackend:
        backend = SandboxBackend(tmp_path / "data", clock=clock, **options)
        await backend.start(recorder)
        backends.append(backend)
        return backend

    yield factory
    for backend in backends:
        await backend.close()


@pytest.fixture
async def sandbox(make_sandbox: Callable[..., Any]) -> SandboxBackend:
    backend: SandboxBackend = await make_sandbox()
    return backend
