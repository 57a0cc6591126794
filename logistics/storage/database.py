"""The SQLite database: one writer connection behind a lock, one reader connection, migrations at open.

Every write runs on the single writer connection, one unit at a time behind an ``asyncio.Lock``, so
concurrent requests queue in the process instead of meeting "database is locked". A transaction begins with
``BEGIN IMMEDIATE``; units that arrive while one is running are grouped into it (each in a SAVEPOINT) and
committed together, and no caller goes on before the COMMIT that holds its work. WAL mode lets the reader
run beside the writer; ``synchronous=FULL`` makes every COMMIT durable before it is acknowledged.

Where each statement runs: a unit's statements run on the event loop's thread, at once, and only the
COMMIT (the one step that waits for the disk) goes to the connection's own thread. Inside a transaction
this process holds, SQLite statements take microseconds and wait for no lock, while each hand-off to
another thread costs a thread switch and a wake-up of the event loop: more, on a busy core, than the
statements themselves. ``BEGIN IMMEDIATE`` is tried at once too, without waiting; only when another process
holds the write lock (a maintenance command, say) does it go to the connection's thread to wait there, up
to the busy timeout, without stalling the loop. The price: what a statement does on the loop's thread, the
loop waits for. Units are small (a few rows; the housekeeping deletes in bounded batches), and a page read
that misses the OS cache is the worst a statement meets there; a cancelled caller never lets the handle be
touched while the connection's thread still uses it (``_hand_over``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from logistics.errors import StorageUnavailable
from logistics.storage.migrations import MIGRATIONS

logger = logging.getLogger(__name__)

MAX_GROUP = 64  # units per COMMIT at most, which bounds how long the first of a group waits

T = TypeVar("T")


BUSY_TIMEOUT_MS = 5000


class SchemaTooNew(RuntimeError):
    """The database was written by a newer release: this one must not touch it."""


# SQLite's primary result codes that mean the storage itself is failing, not the statement: the disk is
# full, the file or its folder became read-only, an I/O error, the file cannot be opened or is damaged.
STORAGE_FAILURES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
    }
)


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the storage cannot take writes (rather than that a statement was wrong)."""
    if not isinstance(exc, sqlite3.Error):
        return isinstance(exc, OSError)
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in STORAGE_FAILURES
    return isinstance(exc, sqlite3.OperationalError) and any(
        words in str(exc) for words in ("disk is full", "readonly database", "disk I/O error", "unable to open")
    )


async def _open(path: Path, *, writer: bool) -> aiosqlite.Connection:
    # The writer's statements run on the loop's thread and its COMMIT on the connection's (see the module
    # docstring), never both at once: the write lock is held until every hand-off has ended (``_hand_over``).
    conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=not writer)
    try:
        await _configure(conn)
    except BaseException:
        # The connection's thread is not a daemon: one left open keeps the process from ever exiting.
        await conn.close()
        raise
    return conn


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA foreign_keys=ON")
    # Statement and savepoint journals (a group's units each run in a SAVEPOINT) and transient indexes stay
    # in memory: on disk each would be a temporary file created, written and unlinked per transaction.
    await conn.execute("PRAGMA temp_store=MEMORY")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def on_connection_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` on the connection's own thread with its ``sqlite3`` handle (a COMMIT and what it must
    do beside it, a BEGIN that may wait for another process).

    aiosqlite has no public way to run a function of the handle on its thread, so this uses the queue its own
    methods use (``Connection._execute``); a unit reads the handle itself as ``Connection._conn``. So
    ``pyproject.toml`` pins aiosqlite exactly, ``tests/integration/test_aiosqlite_private_api.py`` checks both
    members' shape and meaning, and the check at ``Database.open`` fails loudly if an installed version lacks
    either.
    """
    result: T = await conn._execute(lambda: work(conn._conn))  # type: ignore[no-untyped-call]
    return result


def _check_aiosqlite() -> None:
    if not (callable(getattr(aiosqlite.Connection, "_execute", None)) and hasattr(aiosqlite.Connection, "_conn")):
        raise RuntimeError(
            f"aiosqlite {getattr(aiosqlite, '__version__', '?')} lacks Connection._execute/_conn, which the"
            " database layer uses to run statements and COMMITs on the writer; install a version this release"
            " supports (see pyproject)"
        )


class _Ending(enum.Enum):
    """How a unit stood once everything run for it had run."""

    COMMITTED = "committed"  # its statements ran and the COMMIT holding them succeeded
    COMMIT_FAILED = "commit failed"  # its statements ran; the COMMIT it carried failed and was rolled back
    GROUP_LOST = "group lost"  # SQLite rolled the whole transaction back (disk full, I/O error): all of it
    DONE = "done"  # its statements ran; the group's COMMIT is still to come
    UNDONE = "undone"  # it failed (or was stopped) part-way and its statements were undone


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


async def _hand_over(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work`` on the connection's thread; a caller cancelled meanwhile still returns only once it has ended."""
    return await _outlast(asyncio.ensure_future(on_connection_thread(conn, work)))


async def _outlast(job: asyncio.Future[T]) -> T:
    """Await a hand-off to the connection's thread; a caller cancelled meanwhile returns only once it has ended.

    The writer holds its lock until then, so nothing touches the handle from the loop's thread while the
    connection's thread uses it; repeated cancellations are held back (for a COMMIT's fsync, or a BEGIN's
    busy wait of at most ``BUSY_TIMEOUT_MS``) and the first is raised once the work has ended.
    """
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        while not job.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([job])
        job.add_done_callback(_consume)
        raise


class Unit:
    """One unit of work on the writer connection. Its statements run at once, on the loop's thread.

    ``defer``/``defer_many`` run a write whose result nobody needs; ``execute``/``execute_many`` run one and
    return its row count; ``execute_fetchall`` runs a query and returns its rows (same name and shape as
    aiosqlite's, so read queries run on either). A unit that joined a group runs inside a SAVEPOINT.
    """

    def __init__(self, conn: aiosqlite.Connection, *, joined: bool) -> None:
        self._conn = conn
        self._db: sqlite3.Connection = conn._conn
        self.joined = joined
        # How far the unit got, read by ``_settle``; ``_committed`` is set on the connection's thread, by the
        # COMMIT the unit carries, before that hand-off returns.
        self._opened = False
        self._own_done = False
        self._committed = False
        self._commit_tried = False

    async def _open(self) -> None:
        """Begin the group's transaction (the first unit) or the unit's SAVEPOINT (the others)."""
        if self.joined:
            self._run("SAVEPOINT unit", ())
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            # Another process holds the write lock: wait for it on the connection's thread, off the loop.
            self._opened = True  # or about to be, if stopped meanwhile: ``_settle`` asks the connection
            await _hand_over(self._conn, _begin_waiting)
        self._opened = True

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def defer_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._run(sql, rows, many=True)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._run(sql, params).rowcount

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        return self._run(sql, rows, many=True).rowcount

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._run(sql, params).fetchall()

    def _run(self, sql: str, params: Sequence[Any], *, many: bool = False) -> sqlite3.Cursor:
        if self.joined and not self._db.in_transaction:
            raise sqlite3.OperationalError("the transaction this unit joined was rolled back")
        cursor = self._db.executemany(sql, params) if many else self._db.execute(sql, params)
        self._opened = True
        return cursor

    async def _finish(self, commit: bool) -> None:
        """Release the unit's SAVEPOINT (when it joined a group) and, when it closes the group, COMMIT."""
        if self.joined and self._opened:
            self._run("RELEASE unit", ())
        self._own_done = True
        if not commit:
            return
        self._commit_tried = True

        def run(db: sqlite3.Connection) -> None:
            db.execute("COMMIT")
            self._committed = True

        await _hand_over(self._conn, run)

    def _settle(self) -> _Ending:
        """After a failure or a cancellation: find how far the unit got, and undo it if it did not get to the
        end (its COMMIT, if it carried one, has run: the conclusion waits for it)."""
        db = self._db
        if self._committed:
            return _Ending.COMMITTED
        if self._commit_tried:
            if db.in_transaction:
                db.execute("ROLLBACK")
            return _Ending.COMMIT_FAILED
        if self.joined and not db.in_transaction:
            return _Ending.GROUP_LOST  # SQLite gave up the whole transaction, earlier units' work with it
        if self._own_done:
            return _Ending.DONE
        if self._opened:
            if self.joined:
                db.execute("ROLLBACK TO unit")
                db.execute("RELEASE unit")
            elif db.in_transaction:
                db.execute("ROLLBACK")
        return _Ending.UNDONE


def _begin_waiting(db: sqlite3.Connection) -> None:
    """On the connection's thread: ``BEGIN IMMEDIATE``, waiting up to the busy timeout for another process."""
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute("PRAGMA busy_timeout=0")


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
        self.failure: str | None = None  # why the last write failed for the storage's sake; None once one succeeds

    @classmethod
    async def open(cls, path: Path) -> Database:
        _check_aiosqlite()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _open(path, writer=True)
        try:
            await migrate(writer)
            await writer.execute("PRAGMA busy_timeout=0")  # the loop never waits on a lock (see Unit._open)
            reader = await _open(path, writer=False)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @property
    def reader_connection(self) -> aiosqlite.Connection:
        return self._reader

    async def close(self) -> None:
        """Commit what is pending, then close both connections, each even if what came before it failed: a
        connection's worker thread is not a daemon, and one left running would keep the process from exiting."""
        async with contextlib.AsyncExitStack() as closing:  # closes the reader, then the writer, whatever fails
            closing.push_async_callback(self._writer.close)
            closing.push_async_callback(self._reader.close)
            if self._flusher is not None:
                await asyncio.wait([self._flusher])  # its outcome is the group's, told to its units
            await self._flush()  # a group whose flusher was stopped before its COMMIT: committed now

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
            await unit._open()
        except BaseException as exc:
            failure = exc
        if failure is None:
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
            unavailable = self._unavailable(raised)
            if unavailable is not None:
                raise unavailable from raised
            raise raised
        try:
            await committed
        except Exception as exc:
            unavailable = self._unavailable(exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        self.failure = None

    def _unavailable(self, exc: BaseException) -> StorageUnavailable | None:
        """A storage failure as the service's 503 (and remembered for ``/health`` until a write succeeds)."""
        if not is_storage_failure(exc):
            return None
        self.failure = str(exc) or type(exc).__name__
        logger.error("the database cannot take writes: %s", self.failure)
        error = StorageUnavailable(
            "the service cannot store anything at the moment; nothing was changed, try again shortly",
            code="storage.unavailable",
        )
        error.__cause__ = exc
        return error

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
                    ending = unit._settle()
            else:
                ending = unit._settle()
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
        await _outlast(done)  # the writer is released only once the COMMIT has ended

    async def _flush(self) -> None:
        async with self._write_lock:
            if self._group is not None:
                await self._commit()

    async def ping(self) -> None:
        async with self._reader.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def probe_write(self) -> None:
        """A real write, committed: the schema version written again over itself (page 1 of the file)."""
        async with self.write() as unit:
            rows = await unit.execute_fetchall("PRAGMA user_version")
            unit.defer(f"PRAGMA user_version={int(rows[0][0])}")

    async def probe_disk(self) -> None:
        """Whether the database's folder takes a small new file now (a full disk refuses it); cheap: one
        4 KiB write, fsync'd and removed, on the connection's thread so the loop never waits for the disk."""

        def probe(_db: sqlite3.Connection) -> None:
            target = self.path.with_name(self.path.name + ".probe")
            try:
                with open(target, "wb") as handle:
                    handle.write(b"\0" * 4096)
                    handle.flush()
                    os.fsync(handle.fileno())
            finally:
                with contextlib.suppress(OSError):
                    target.unlink()

        await on_connection_thread(self._reader, probe)

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
        raise SchemaTooNew(
            f"the database schema is version {current}, newer than this release knows ({len(MIGRATIONS)})"
        )
    for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        logger.info("applying migration %d", version)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sqlite):
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
