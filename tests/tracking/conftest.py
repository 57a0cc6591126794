"""Fixtures for tracking tests: a manual clock (the store is the shared one: SQLite, in memory, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriers.testing import EXAMPLE_START
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EXAMPLE_START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "logistics.db"
