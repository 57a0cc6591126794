"""Fixtures for tracking tests: a real store (SQLite in a temporary file, or PostgreSQL), a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carriers.testing import EXAMPLE_START, ManualClock
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from tests.support.service import database_under_test


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EXAMPLE_START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "logistics.db"


@pytest.fixture
async def store(db_path: Path, store_kind: str) -> AsyncIterator[SqliteStore]:
    """The SQLite store in the test's folder, or (``store_kind`` postgres) the PostgreSQL store on the
    test's own database: the same port, typed here as the SQLite one the tests were written against."""
    url = database_under_test.get()
    if url is not None:
        from logistics.storage.postgres import Engine, PostgresStore

        engine = await Engine.open(url, max_size=4)
        try:
            yield PostgresStore(engine)  # type: ignore[misc]
        finally:
            await engine.close()
        return
    database = await Database.open(db_path)
    try:
        yield SqliteStore(database)
    finally:
        await database.close()
