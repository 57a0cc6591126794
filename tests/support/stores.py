"""The stores service tests run on: the SQLite store on a temporary file, and the in-memory store.

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

STORES = ("sqlite", "memory")


@asynccontextmanager
async def open_store(kind: str, folder: Path) -> AsyncIterator[Store]:
    if kind == "memory":
        yield MemoryStore()
        return
    if kind != "sqlite":
        raise ValueError(f"no store named {kind!r} (known: {', '.join(STORES)})")
    database = await Database.open(folder / "logistics.db")
    try:
        yield SqliteStore(database)
    finally:
        await database.close()
