"""The SQLite database: one writer connection behind a lock, one reader connection, migrations at open.

Every write runs on the single writer connection, one unit at a time behind an ``asyncio.Lock``, so
concurrent requests queue in the process instead of meeting "database is locked". A transaction begins with
``BEGIN IMMEDIATE``; units that arrive while one is running are grouped into it (each in a SAVEPOINT) and
committed together, and no caller goes on before the COMMIT that holds its work. WAL mode lets the reader
run beside the writer; ``synchronous=FULL`` makes every COMMIT durable before it is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from logistics.storage.migrations import MIGRATIONS

logger = logging.getLogger(__name__)

MAX_GROUP = 64  # units per COMMIT at most, which bounds how long the first of a group waits


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
        self._queued = 0  # units waiting for the writer
        self._group: list[asyncio.Future[None]] | None = None  # units done but not yet committed
        self._flusher: asyncio.Task[None] | None = None

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
        if self._flusher is not None:
            await self._flusher
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A unit of work: durable when the block ends normally (the call returns after the COMMIT that holds
        it), undone when the block raises.

        Group commit: while other units wait for the writer, a finished unit leaves the transaction open for
        them and the last of the group commits for all, each unit after the first inside its own SAVEPOINT so
        that a failing unit undoes only itself. Every caller still returns only after the COMMIT that holds
        its work, so nothing is acknowledged before it is durable; under concurrency one fsync serves many
        units. A unit alone is a plain ``BEGIN IMMEDIATE`` ... ``COMMIT``.
        """
        self._queued += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._queued -= 1
        writer = self._writer
        try:
            joined = self._group is not None
            if not joined:
                await writer.execute("BEGIN IMMEDIATE")
                self._group = []
            else:
                await writer.execute("SAVEPOINT unit")
            try:
                yield writer
            except BaseException:
                if joined:
                    await writer.execute("ROLLBACK TO unit")
                    await writer.execute("RELEASE unit")
                    if self._queued == 0:
                        await self._commit()  # the units before this one still need their COMMIT
                else:
                    await writer.execute("ROLLBACK")
                    self._group = None
                raise
            if joined:
                await writer.execute("RELEASE unit")
            committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            assert self._group is not None
            self._group.append(committed)
            if self._queued == 0 or len(self._group) >= MAX_GROUP:
                await self._commit()
            elif self._flusher is None or self._flusher.done():
                # Whoever is queued commits the group; should they all give up waiting, this does.
                self._flusher = asyncio.create_task(self._flush(), name="database:group-commit")
        finally:
            self._write_lock.release()
        await committed

    async def _commit(self) -> None:
        group, self._group = self._group or [], None
        try:
            await self._writer.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._writer.execute("ROLLBACK")
            for waiter in group:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in group:
            if not waiter.done():
                waiter.set_result(None)

    async def _flush(self) -> None:
        async with self._write_lock:
            if self._group is not None:
                await self._commit()

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
