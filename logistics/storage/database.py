"""The SQLite database: one writer connection behind a lock, one reader connection, migrations at open.

Every write runs on the single writer connection, one unit at a time behind an ``asyncio.Lock``, so
concurrent requests queue in the process instead of meeting "database is locked". A transaction begins with
``BEGIN IMMEDIATE``; units that arrive while one is running are grouped into it (each in a SAVEPOINT) and
committed together, and no caller goes on before the COMMIT that holds its work. WAL mode lets the reader
run beside the writer; ``synchronous=FULL`` makes every COMMIT durable before it is acknowledged.

A unit's statements reach the connection's thread in batches (see ``Unit``): the writes that answer
nothing wait in the unit and go with its next read, or with its closing RELEASE and COMMIT. Every hand-off
to that thread costs a thread switch and a wake-up of the event loop, which on a busy core cost more than
the statements themselves, so a typical unit takes one or two hand-offs whatever its number of statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from logistics.storage.migrations import MIGRATIONS

logger = logging.getLogger(__name__)

MAX_GROUP = 64  # units per COMMIT at most, which bounds how long the first of a group waits

T = TypeVar("T")


async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


async def on_connection_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` on the connection's own thread with its ``sqlite3`` handle: one hand-off for many statements.

    aiosqlite hands each call to the thread that owns the connection; it has no public way to send several
    statements at once, so this uses the queue its own methods use (``Connection._execute``). The check at
    ``Database.open`` fails loudly if a future aiosqlite drops it.
    """
    result: T = await conn._execute(lambda: work(conn._conn))  # type: ignore[no-untyped-call]
    return result


def _check_aiosqlite() -> None:
    if not (callable(getattr(aiosqlite.Connection, "_execute", None)) and hasattr(aiosqlite.Connection, "_conn")):
        raise RuntimeError(
            f"aiosqlite {getattr(aiosqlite, '__version__', '?')} lacks Connection._execute/_conn, which the"
            " database layer uses to batch statements; install a version this release supports (see pyproject)"
        )


Statement = tuple[str, Sequence[Any], bool]  # sql, parameters (rows when many), many


class _Ending(enum.Enum):
    """How a unit stood once the database thread had run everything sent for it."""

    COMMITTED = "committed"  # its statements ran and the COMMIT holding them succeeded
    COMMIT_FAILED = "commit failed"  # its statements ran; the COMMIT it carried failed and was rolled back
    GROUP_LOST = "group lost"  # SQLite rolled the whole transaction back (disk full, I/O error): all of it
    DONE = "done"  # its statements ran; the group's COMMIT is still to come
    UNDONE = "undone"  # it failed (or was stopped) part-way and its statements were undone


class Unit:
    """The statements of one unit of work on the writer connection, sent in as few hand-offs as possible.

    ``defer``/``defer_many`` queue a write whose result nobody needs; ``execute``/``execute_many`` send the
    queue and the statement at once and return its row count; ``execute_fetchall`` sends the queue and a
    query and returns its rows (same name and shape as aiosqlite's, so read queries run on either). What is
    still queued when the unit ends goes with its RELEASE and, when it closes the group, the COMMIT.
    """

    def __init__(self, conn: aiosqlite.Connection, *, joined: bool) -> None:
        self._conn = conn
        self.joined = joined
        self._queue: list[Statement] = [("SAVEPOINT unit" if joined else "BEGIN IMMEDIATE", (), False)]
        # Written on the database thread as statements succeed, read there by ``_settle``.
        self._opened = False
        self._own_done = False
        self._committed = False
        self._commit_tried = False

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._queue.append((sql, params, False))

    def defer_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._queue.append((sql, rows, True))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(await self._send((sql, params, False), "rowcount"))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        return int(await self._send((sql, rows, True), "rowcount"))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = await self._send((sql, params, False), "rows")
        return rows

    async def _send(self, last: Statement | None, answer: str) -> Any:
        batch, self._queue = self._queue, []
        if last is not None:
            batch.append(last)

        def run(db: sqlite3.Connection) -> Any:
            cursor = self._run(db, batch)
            if cursor is None:
                return None
            return cursor.fetchall() if answer == "rows" else cursor.rowcount

        return await on_connection_thread(self._conn, run)

    def _run(self, db: sqlite3.Connection, batch: list[Statement]) -> sqlite3.Cursor | None:
        """On the database thread: run a batch of the unit's statements; the cursor of the last one."""
        if self.joined and not db.in_transaction:
            raise sqlite3.OperationalError("the transaction this unit joined was rolled back")
        cursor: sqlite3.Cursor | None = None
        for sql, params, many in batch:
            cursor = db.executemany(sql, params) if many else db.execute(sql, params)
            self._opened = True
        return cursor

    async def _finish(self, commit: bool) -> None:
        """Send what is queued with the unit's RELEASE (when it joined a group) and the group's COMMIT."""
        batch, self._queue = self._queue, []
        joined = self.joined

        def run(db: sqlite3.Connection) -> None:
            self._run(db, batch)
            if joined and self._opened:
                db.execute("RELEASE unit")
            self._own_done = True
            if commit:
                self._commit_tried = True
                db.execute("COMMIT")
                self._committed = True

        await on_connection_thread(self._conn, run)

    async def _settle(self) -> _Ending:
        """After a failure or a cancellation: find, on the database thread (after whatever was already sent
        for this unit has run), how far the unit got, and undo it if it did not get to the end."""
        joined = self.joined

        def run(db: sqlite3.Connection) -> _Ending:
            if self._committed:
                return _Ending.COMMITTED
            if self._commit_tried:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                return _Ending.COMMIT_FAILED
            if joined and not db.in_transaction:
                return _Ending.GROUP_LOST  # SQLite gave up the whole transaction, earlier units' work with it
            if self._own_done:
                return _Ending.DONE
            if self._opened:
                if joined:
                    db.execute("ROLLBACK TO unit")
                    db.execute("RELEASE unit")
                elif db.in_transaction:
                    db.execute("ROLLBACK")
            return _Ending.UNDONE

        return await on_connection_thread(self._conn, run)


def _settle_group(group: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """Tell every unit of a group how its COMMIT went."""
    for waiter in group:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


def _commit_error(task: asyncio.Future[BaseException | None]) -> BaseException | None:
    if task.cancelled():
        return RuntimeError("the COMMIT was interrupted; its outcome is unknown")
    return task.exception() or task.result()


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark a future's outcome as seen when nobody awaits it any more."""
    if not future.cancelled():
        future.exception()


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
        _check_aiosqlite()
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
    async def write(self) -> AsyncIterator[Unit]:
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
        try:
            joined = self._group is not None
            if not joined:
                self._group = []
            unit = Unit(self._writer, joined=joined)
        except BaseException:
            self._write_lock.release()
            raise
        failure: BaseException | None = None
        try:
            yield unit
        except BaseException as exc:
            failure = exc
        # From here the unit's conclusion runs to its end whatever happens to the caller: it decides what the
        # connection holds and what the other units of the group are told, and it releases the writer.
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        conclusion = asyncio.ensure_future(self._conclude(unit, committed, failure))
        try:
            raised = await asyncio.shield(conclusion)
        except asyncio.CancelledError:
            conclusion.add_done_callback(_consume)
            committed.add_done_callback(_consume)
            raise
        if raised is not None:
            committed.add_done_callback(_consume)
            raise raised
        await committed

    async def _conclude(
        self, unit: Unit, committed: asyncio.Future[None], failure: BaseException | None
    ) -> BaseException | None:
        """Finish or undo ``unit`` and do the group's book-keeping; returns what the caller is to raise."""
        try:
            group = self._group
            assert group is not None
            if failure is None:
                commit = self._queued == 0 or len(group) + 1 >= MAX_GROUP
                try:
                    await unit._finish(commit)
                    ending = _Ending.COMMITTED if commit else _Ending.DONE
                except Exception as exc:
                    failure = exc
                    ending = await unit._settle()
            else:
                ending = await unit._settle()
            if ending is _Ending.UNDONE:
                if not unit.joined:
                    self._group = None  # the transaction held only this unit, and it was rolled back
                elif self._queued == 0:
                    await self._commit()  # the units before this one still need their COMMIT
                return failure
            if ending is _Ending.GROUP_LOST:
                self._group = None
                error = failure or sqlite3.OperationalError("the transaction was rolled back")
                _settle_group(group, error)
                return failure
            group.append(committed)
            if ending is _Ending.DONE:
                if self._flusher is None or self._flusher.done():
                    # Whoever is queued commits the group; should they all give up waiting, this does.
                    self._flusher = asyncio.create_task(self._flush(), name="database:group-commit")
            else:
                self._group = None
                _settle_group(group, failure if ending is _Ending.COMMIT_FAILED else None)
            return failure  # None, or why the COMMIT failed (the unit's work is lost with the group's)
        finally:
            self._write_lock.release()

    async def _commit(self) -> None:
        group, self._group = self._group or [], None

        def run(db: sqlite3.Connection) -> BaseException | None:
            if not db.in_transaction:
                return sqlite3.OperationalError("the transaction was rolled back before its COMMIT")
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                return exc
            return None

        # The group learns the outcome even if whoever waits for it here is stopped meanwhile.
        done = asyncio.ensure_future(on_connection_thread(self._writer, run))
        done.add_done_callback(lambda task: _settle_group(group, _commit_error(task)))
        await asyncio.shield(done)

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
