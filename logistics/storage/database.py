"""The SQLite database: one writer connection behind a lock, one reader connection, migrations at open.

Every write runs in ``BEGIN IMMEDIATE`` on the single writer connection, serialised by an ``asyncio.Lock``,
so concurrent requests queue in the process instead of meeting "database is locked". WAL mode lets the
reader run beside the writer. ``synchronous=FULL`` makes every commit durable before it is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from logistics.storage.migrations import MIGRATIONS

logger = logging.getLogger(__name__)


async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Database:
    """Owns the connections. Open with ``Database.open(path)``; close with ``await db.close()``."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _open(path)
        try:
            await migrate(writer)
            reader = await _open(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @property
    def reader_connection(self) -> aiosqlite.Connection:
        return self._reader

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed when the block ends normally, rolled back otherwise."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read: a consistent snapshot for the block (a deferred transaction on the reader connection)."""
        yield self._reader

    async def ping(self) -> None:
        async with self._reader.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def fetch_value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        async with self._reader.execute(sql, params) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the migrations not yet applied; returns the schema version."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"the database schema is version {current}, newer than this release knows ({len(MIGRATIONS)})"
        )
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        logger.info("applying migration %d", version)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={version}")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies (``BEGIN … END;``) whole."""
    statements: list[str] = []
    buffer = ""
    for part in script.split(";"):
        buffer += part
        if not buffer.strip():
            buffer = ""
            continue
        if "CREATE TRIGGER" in buffer.upper() and not buffer.rstrip().upper().endswith("END"):
            buffer += ";"
            continue
        statements.append(buffer.strip())
        buffer = ""
    return statements
