"""The PostgreSQL database: a connection pool, migrations under an advisory lock, connection failures as 503s.

The store's statements are written once for both databases with ``?`` placeholders (see
``logistics.storage.sqlite_store``); ``postgres_sql`` numbers them as PostgreSQL's ``$1, $2, ...`` once per
statement text. Every call that reaches the server goes through ``Engine``, which turns the loss of the
connection (the server restarting, a network cut, a pool that cannot connect) into ``StorageUnavailable``:
the service answers 503 with ``Retry-After`` and nothing is half-written, since a transaction that did not
reach its COMMIT is rolled back by the server. The pool replaces broken connections by itself at the next
acquire, so the service recovers without a restart.

Several instances may start at once on one database: migrations run under a session advisory lock, so one
applies them and the others find them applied. ``schema_version`` records the versions applied.

This module must not hold queries of the repositories: those are the store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from logistics.errors import StorageUnavailable
from logistics.storage.database import SchemaTooNew
from logistics.storage.migrations import MIGRATIONS

logger = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATION_LOCK = 0x6C6F6769  # the advisory lock's key while migrations run (any fixed number; "logi")
RETRIES = 5  # attempts of a unit the store runs itself (a claim) on a serialisation failure or a deadlock
CONNECT_TIMEOUT_S = 5.0
ACQUIRE_TIMEOUT_S = 10.0
# SQLSTATEs after which a unit may simply run again: a serialisation failure and a deadlock.
RETRYABLE = frozenset({"40001", "40P01"})

_PLACEHOLDER_OR_QUOTED = re.compile(r"'(?:[^']|'')*'|\?")


@functools.lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """``sql`` with its ``?`` placeholders numbered ``$1, $2, ...`` (question marks in quotes are left alone)."""
    numbers = iter(range(1, 10_000))

    def number(match: re.Match[str]) -> str:
        text = match.group(0)
        return text if text != "?" else f"${next(numbers)}"

    return _PLACEHOLDER_OR_QUOTED.sub(number, sql)


def rows_affected(status: str) -> int:
    """The row count in a command status such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def is_connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the server cannot be reached or is going away (rather than a statement was wrong)."""
    if isinstance(exc, (OSError, TimeoutError, asyncpg.PostgresConnectionError)):
        return True
    if isinstance(
        exc,
        (asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError),
    ):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc) or "connection" in str(exc)
    return isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in {"57P01", "57P02", "57P03", "08006"}


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)


def unavailable(exc: BaseException) -> StorageUnavailable:
    error = StorageUnavailable(
        "the service cannot reach its database at the moment; nothing was changed, try again shortly",
        code="storage.unavailable",
    )
    error.__cause__ = exc
    return error


async def _end_transaction(conn: asyncpg.Connection) -> None:
    """A connection given back to the pool. asyncpg's default reset (UNLISTEN, RESET ALL, advisory locks
    released) costs a round trip at every use; the service leaves no session state on a pooled connection
    (its advisory locks are transaction-scoped, it listens on a connection of its own, the migrations' lock
    is taken on one outside the pool), so only a transaction left open is ended."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Engine:
    """Owns the pool. Open with ``Engine.open(url)``; close with ``await engine.close()``."""

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.url = url
        self._pool = pool
        self.failure: str | None = None  # why the last call failed to reach the server; None once one succeeds

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> Engine:
        """Connect, apply the migrations not yet applied, and keep a pool of ``max_size`` connections."""
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT_S,
            # A connection left idle this long is closed and opened again when needed: one that a restart
            # of the server broke is found out without a request paying for it.
            max_inactive_connection_lifetime=60.0,
            reset=_end_transaction,
        )
        return cls(url, pool)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool for one block; losing the server raises ``StorageUnavailable``."""
        try:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                yield conn
        except StorageUnavailable:
            raise
        except Exception as exc:
            if not is_connection_failure(exc):
                raise
            self.failure = str(exc) or type(exc).__name__
            logger.error("the database cannot be reached: %s", self.failure)
            raise unavailable(exc) from exc
        self.failure = None

    async def fetch(self, sql: str, params: Any = ()) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(postgres_sql(sql), *params)
            return rows

    async def in_transaction(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction of its own, again from the start after a serialisation failure or a
        deadlock (up to ``RETRIES`` times): for units the store runs itself, whose whole body it knows."""
        for attempt in range(1, RETRIES + 1):
            try:
                async with self.connection() as conn, conn.transaction():
                    return await work(conn)
            except asyncpg.PostgresError as exc:
                if sqlstate(exc) not in RETRYABLE or attempt == RETRIES:
                    raise
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def ping(self) -> None:
        await self.fetch("SELECT 1")

    @asynccontextmanager
    async def listening(self, channels: dict[str, Callable[[str], None]]) -> AsyncIterator[None]:
        """Call ``channels[channel](payload)`` for every NOTIFY on those channels while the block runs, on a
        connection of its own that is opened again (after a pause) whenever it is lost. After a reconnection
        every callback is called once with an empty payload: notifications sent meanwhile were missed."""
        task = asyncio.create_task(self._listen(channels), name="database:listen")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self, channels: dict[str, Callable[[str], None]]) -> None:
        def deliver(_conn: object, _pid: int, channel: str, payload: str) -> None:
            channels[channel](payload)

        first = True
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:
                logger.warning("cannot listen for the database's notifications (trying again): %s", exc)
                await asyncio.sleep(1.0)
                continue
            try:
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                for channel in channels:
                    await conn.add_listener(channel, deliver)
                if not first:
                    for callback in channels.values():
                        callback("")
                first = False
                await lost.wait()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                logger.warning("lost the database's notifications (listening again): %s", exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=1.0))
            await asyncio.sleep(0.5)


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations not yet applied, under the migration lock; returns the schema version."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
        )
        current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if current > len(MIGRATIONS):
            raise SchemaTooNew(
                f"the database schema is version {current}, newer than this release knows ({len(MIGRATIONS)})"
            )
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            logger.info("applying migration %d", version)
            async with conn.transaction():
                await conn.execute(migration.postgres)
                await conn.execute("INSERT INTO schema_version VALUES ($1, now())", version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return len(MIGRATIONS)


async def schema_version(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
    finally:
        await conn.close()
