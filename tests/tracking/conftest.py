"""Fixtures for tracking tests: a real SQLite store in a temporary file, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carriers.testing import EXAMPLE_START
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EXAMPLE_START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "logistics.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    database = await Database.open(db_path)
    try:
        yield SqliteStore(database)
    finally:
        await database.close()
