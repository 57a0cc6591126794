"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.clock import ManualClock
from tests.support.service import Service, running_service

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
