"""The stores service tests run on: the SQLite store on a temporary file, the in-memory store, and the
PostgreSQL store on the test's own database in the suite's private cluster (tests/support/postgres.py).

``STORES`` names them; the ``store`` fixture (``tests/conftest.py``) is parametrised over it, so a test that
takes ``store`` runs once on each. Another implementation of the port joins by adding its name here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from logistics.services.ports import Store
from logistics.storage.database import Database
from logistics.storage.memory_store import MemoryStore
from logistics.storage.sqlite_store import SqliteStore

STORES = ("sqlite", "memory", "postgres")
# The stores a test can open by itself as often as it likes (a property test opens one per example); a
# PostgreSQL database comes from the suite's cluster, one per test, through the ``store`` fixture.
LOCAL_STORES = ("sqlite", "memory")


@asynccontextmanager
async def open_store(kind: str, folder: Path, postgres_url: str | None = None) -> AsyncIterator[Store]:
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "postgres":
        if postgres_url is None:
            raise ValueError("the PostgreSQL store needs the URL of the test's database")
        from logistics.storage.postgres import Engine, PostgresStore

        engine = await Engine.open(postgres_url, max_size=4)
        try:
            yield PostgresStore(engine)
        finally:
            await engine.close()
        return
    if kind != "sqlite":
        raise ValueError(f"no store named {kind!r} (known: {', '.join(STORES)})")
    database = await Database.open(folder / "logistics.db")
    try:
        yield SqliteStore(database)
    finally:
        await database.close()
