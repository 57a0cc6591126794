"""Fixtures shared by every test layer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.clock import ManualClock
from tests.support.service import Service, running_service

# The private PostgreSQL cluster's fixtures (``postgres_cluster``, ``postgres_url``) for every test folder.
pytest_plugins = ["tests.support.postgres"]

# Deterministic property tests everywhere: the same examples on every run and every machine.
hypothesis_settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("deterministic")

# Settings come from the environment; a developer's own LOGISTICS_* variables must not leak into tests.
for name in [n for n in os.environ if n.startswith("LOGISTICS_")]:
    del os.environ[name]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Service]:
    async with running_service(tmp_path, clock) as svc:
        yield svc


# looptime 0.9 asks the event-loop policy for its loop before every test call; under pytest-asyncio 1.x there is
# often none set, so the policy creates a loop that nobody closes, and its ResourceWarning later fails whichever
# test the garbage collector happens to interrupt. Close such a loop right after the call.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    before = getattr(local, "_loop", None)
    try:
        return (yield)
    finally:
        after = getattr(local, "_loop", None)
        if after is not None and after is not before and not after.is_running() and not after.is_closed():
            after.close()
            policy.set_event_loop(None)
