"""The database's single writer with group commit: every unit is committed before its caller goes on, a
failing unit undoes only itself, and concurrent units share commits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from logistics.errors import StorageUnavailable
from logistics.storage import database as database_module
from logistics.storage.database import Database
from logistics.storage.migrations import MIGRATIONS


async def _database(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "db.sqlite")
    async with database.write() as unit:
        unit.defer("CREATE TABLE units (n INTEGER PRIMARY KEY)")
    return database


def _failure_of(database: Database) -> str | None:
    """Read afresh: the failure changes under the writer, which type narrowing cannot know."""
    return database.failure


def _committed(path: Path) -> set[int]:
    with sqlite3.connect(path) as other:  # another connection sees only what is committed
        return {row[0] for row in other.execute("SELECT n FROM units")}


async def test_each_unit_is_committed_when_its_call_returns(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    seen_after_return: list[bool] = []

    async def unit(n: int) -> None:
        async with database.write() as unit:
            await unit.execute("INSERT INTO units (n) VALUES (?)", (n,))
            await asyncio.sleep(0)  # let the others queue behind
        seen_after_return.append(n in _committed(database.path))

    await asyncio.gather(*(unit(n) for n in range(40)))
    assert all(seen_after_return) and len(seen_after_return) == 40
    assert _committed(database.path) == set(range(40))
    await database.close()


async def test_a_failing_unit_undoes_only_itself(tmp_path: Path) -> None:
    database = await _database(tmp_path)

    async def unit(n: int) -> None:
        async with database.write() as unit:
            await unit.execute("INSERT INTO units (n) VALUES (?)", (n,))
            await asyncio.sleep(0)
            if n % 5 == 0:
                raise ValueError(n)

    results = await asyncio.gather(*(unit(n) for n in range(30)), return_exceptions=True)
    failed = {n for n, result in enumerate(results) if isinstance(result, ValueError)}
    assert failed == {n for n in range(30) if n % 5 == 0}
    assert _committed(database.path) == set(range(30)) - failed
    await database.close()


async def test_a_caller_that_gives_up_waiting_does_not_strand_the_group(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    release = asyncio.Event()

    async def slow(n: int) -> None:
        async with database.write() as unit:
            await unit.execute("INSERT INTO units (n) VALUES (?)", (n,))
            await release.wait()

    first = asyncio.create_task(slow(1))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(slow(2))  # queued behind the first
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.sleep(0)  # the first finishes its unit and, seeing the second queued, leaves the COMMIT to it
    second.cancel()  # ... but the second gives up before it ever runs: the first must still be committed
    await asyncio.wait_for(first, 5)
    with pytest.raises(asyncio.CancelledError):
        await second
    assert _committed(database.path) == {1}
    await database.close()


async def test_migrations_are_recorded(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "db.sqlite")
    assert await database.fetch_value("PRAGMA user_version") == len(MIGRATIONS)
    assert await database.fetch_value("PRAGMA journal_mode") == "wal"
    await database.close()
    again = await Database.open(tmp_path / "db.sqlite")  # opening again applies nothing twice
    assert await again.fetch_value("SELECT count(*) FROM repairs") == 0
    await again.close()


async def test_both_connections_are_durable_and_keep_temporary_data_in_memory(tmp_path: Path) -> None:
    """synchronous=FULL on both; temp_store=MEMORY, so a group's savepoint journals never go to temp files."""
    database = await Database.open(tmp_path / "db.sqlite")
    wanted = {"synchronous": 2, "temp_store": 2, "foreign_keys": 1, "busy_timeout": 0}
    async with database.write() as unit:
        writer = {name: (await unit.execute_fetchall(f"PRAGMA {name}"))[0][0] for name in wanted}
    reader = {name: await database.fetch_value(f"PRAGMA {name}") for name in wanted}
    await database.close()
    assert writer == wanted
    assert reader == {**wanted, "busy_timeout": 5000}


async def test_migration_2_drops_kept_answers_that_hold_a_label_token_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:  # the schema an older release left, with the answers it kept
        conn.executescript(MIGRATIONS[0].sqlite)
        conn.execute("PRAGMA user_version = 1")
        rows = {
            "clear": b'{"customer_label":{"url":"http://x/v1/labels/AbCdEfGhIjKlMnOpQrStUvWxYz012345"}}',
            "sealed": b'{"label":{"url":"http://x/v1/labels/sealed-' + b"0" * 64 + b'"}}',
            "no-link": b'{"state":"at_centre"}',
        }
        for key, answer in rows.items():
            conn.execute(
                "INSERT INTO idempotency_keys VALUES ('p', ?, 'POST', '/v1/x', 'h', 'done', 201, ?, 'application/json',"
                " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
                (key, answer),
            )
    database = await Database.open(path)
    assert await database.fetch_value("PRAGMA user_version") == len(MIGRATIONS)
    kept = "SELECT count(*) FROM idempotency_keys WHERE response_location IS NULL AND response_seals IS NULL"
    assert await database.fetch_value(kept) == 2
    assert await database.fetch_value("SELECT group_concat(key, ',') FROM idempotency_keys ORDER BY key") in (
        "no-link,sealed",
        "sealed,no-link",
    )
    await database.close()


async def test_migration_3_makes_the_id_of_a_repair_made_before_it_its_origin(tmp_path: Path) -> None:
    """Repairs made before migration 3 under an Idempotency-Key had ``rp_`` and their request's origin as id:
    a request sent again under that key after the upgrade finds them by origin."""
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:  # the schema the previous release left, with one repair in it
        conn.executescript(MIGRATIONS[0].sqlite)
        conn.executescript(MIGRATIONS[1].sqlite)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO repairs (id, case_id, centre_id, state, turnaround_status, created_at, updated_at, doc)"
            " VALUES ('rp_0123456789abcdef0123', 'C-1', 'fr-lyon', 'awaiting_pickup', 'on_track', 't', 't', '{}')"
        )
    database = await Database.open(path)
    assert await database.fetch_value("SELECT origin FROM repairs") == "0123456789abcdef0123"
    async with database.write() as unit:
        with pytest.raises(sqlite3.IntegrityError, match=r"repairs\.origin"):  # one repair per origin
            await unit.execute(
                "INSERT INTO repairs (id, case_id, centre_id, state, turnaround_status, created_at, updated_at,"
                " doc, origin) VALUES ('rp_x', 'C-2', 'fr-lyon', 'awaiting_pickup', 'on_track', 't', 't', '{}',"
                " '0123456789abcdef0123')"
            )
    await database.close()


async def test_legs_are_found_by_tracking_number_through_one_index(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "db.sqlite")
    lookups = (
        ("SELECT repair_id FROM legs WHERE tracking_number = ?", ("1Z",)),
        ("SELECT repair_id FROM legs WHERE carrier = ? AND tracking_number = ?", ("sim", "1Z")),
        ("SELECT repair_id FROM legs WHERE carrier = ? AND tracking_number IN (?, ?)", ("sim", "1Z", "2Z")),
    )
    for sql, params in lookups:
        async with database.reader_connection.execute(f"EXPLAIN QUERY PLAN {sql}", params) as cur:
            plan = " ".join(str(row[3]) for row in await cur.fetchall())
        assert "USING INDEX legs_by_tracking " in plan + " ", plan
    indexes = "SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND name LIKE 'legs_by_tracking%'"
    assert await database.fetch_value(indexes) == "legs_by_tracking"
    await database.close()


async def test_a_write_that_breaks_a_constraint_undoes_its_whole_unit(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    async with database.write() as unit:
        unit.defer("INSERT INTO units (n) VALUES (?)", (1,))

    async def unit_that_fails(n: int) -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (?)", (n,))
            unit.defer("INSERT INTO units (n) VALUES (?)", (1,))  # taken: fails when the unit is sent

    async def unit_that_succeeds(n: int) -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (?)", (n,))

    results = await asyncio.gather(
        unit_that_succeeds(2), unit_that_fails(3), unit_that_succeeds(4), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert _committed(database.path) == {1, 2, 4}
    await database.close()


async def test_a_unit_runs_its_statements_on_the_loop_and_hands_only_its_commit_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = await _database(tmp_path)
    hand_offs = 0
    real = database_module.on_connection_thread

    async def counting(conn: Any, work: Any) -> Any:
        nonlocal hand_offs
        hand_offs += 1
        return await real(conn, work)

    monkeypatch.setattr(database_module, "on_connection_thread", counting)
    async with database.write() as unit:
        for n in range(10):
            unit.defer("INSERT INTO units (n) VALUES (?)", (n,))
        unit.defer_many("INSERT INTO units (n) VALUES (?)", [(n,) for n in range(10, 20)])
        rows = await unit.execute_fetchall("SELECT count(*) FROM units")
        assert rows[0][0] == 20
        assert await unit.execute("DELETE FROM units WHERE n >= ?", (15,)) == 5
        assert hand_offs == 0  # every statement so far ran on the loop's thread
        assert _committed(database.path) == set()  # and none of it is visible before the COMMIT
    assert hand_offs == 1  # the COMMIT, which waits for the disk, on the connection's thread
    assert _committed(database.path) == set(range(15))
    await database.close()


async def test_a_begin_that_meets_another_writer_waits_off_the_loop(tmp_path: Path) -> None:
    """Another process holding the write lock: the unit's BEGIN waits on the connection's thread, so the
    loop goes on serving meanwhile, and the unit runs once the lock is free."""
    database = await _database(tmp_path)
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO units (n) VALUES (1)")

    async def unit() -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (2)")

    writing = asyncio.create_task(unit())
    for _ in range(20):  # the loop is free while the BEGIN waits
        await asyncio.sleep(0.005)
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    assert _committed(database.path) == {1, 2}
    # The wait was the fallback's alone: on the loop's thread a BEGIN still never waits for a lock.
    assert await _writer_value(database, "PRAGMA busy_timeout") == 0
    await database.close()


async def _writer_value(database: Database, sql: str) -> Any:
    async with database.write() as unit:
        rows = await unit.execute_fetchall(sql)
    return rows[0][0]


async def test_a_caller_stopped_twice_while_its_begin_waits_leaves_no_transaction_behind(tmp_path: Path) -> None:
    """Cancelled, then cancelled again, while its BEGIN waits for another process on the connection's thread:
    the unit gives up only once that BEGIN has ended, and undoes it, so the writer holds no transaction that
    nobody owns."""
    database = await _database(tmp_path)
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def unit() -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (1)")

    waiting = asyncio.create_task(unit())
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held until the BEGIN it started has ended
    other.execute("COMMIT")
    other.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 5)
    async with database.write() as later:
        later.defer("INSERT INTO units (n) VALUES (2)")
    assert _committed(database.path) == {2}
    assert not database._writer._conn.in_transaction
    await database.close()


async def test_the_writer_is_not_released_while_a_commit_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group-commit flusher is cancelled (a shutdown giving up, say) while its COMMIT runs on the
    connection's thread: it keeps the write lock until that COMMIT has ended, so no unit touches the handle
    from the loop's thread beside it, and only then lets the cancellation through."""
    database = await _database(tmp_path)
    real = database_module.on_connection_thread

    async def slow(conn: Any, work: Any) -> Any:
        def slowly(db: sqlite3.Connection) -> Any:
            time.sleep(0.3)
            return work(db)

        return await real(conn, slowly)

    monkeypatch.setattr(database_module, "on_connection_thread", slow)

    async def unit() -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (1)")
            database._queued += 1  # as if another unit waited: this one leaves the COMMIT to the flusher

    writing = asyncio.create_task(unit())
    await asyncio.sleep(0.05)  # the flusher's COMMIT is running, slowly
    database._queued -= 1
    flusher = database._flusher
    assert flusher is not None and not flusher.done()
    flusher.cancel()
    await asyncio.sleep(0.05)
    assert database._write_lock.locked() and not flusher.done()  # held until the COMMIT has ended
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(flusher, 5)
    assert not database._write_lock.locked()
    await asyncio.wait_for(writing, 5)  # and the unit heard that its COMMIT succeeded
    assert not database._writer._conn.in_transaction and _committed(database.path) == {1}
    monkeypatch.setattr(database_module, "on_connection_thread", real)
    await database.close()


async def test_a_caller_cancelled_while_its_unit_is_sent_leaves_the_database_consistent(tmp_path: Path) -> None:
    database = await _database(tmp_path)

    async def unit(n: int) -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (?)", (n,))
            unit.defer("INSERT INTO units (n) VALUES (?)", (n + 1000,))

    tasks = [asyncio.create_task(unit(n)) for n in range(20)]
    await asyncio.sleep(0)
    for task in tasks[::3]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    async with database.write() as last:
        last.defer("INSERT INTO units (n) VALUES (?)", (5000,))
    committed = _committed(database.path)
    # Whatever was cancelled, each unit is there whole or not at all, and the others all are.
    for n in range(20):
        assert (n in committed) == (n + 1000 in committed)
        if n % 3:
            assert n in committed
    assert 5000 in committed
    await database.close()


async def test_a_caller_stopped_while_it_commits_for_others_still_tells_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A joined unit fails with nobody queued behind it, so it commits the units before it; its caller is
    cancelled during that COMMIT. Those units must still hear that they are committed."""
    database = await _database(tmp_path)
    release = asyncio.Event()

    async def first() -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (1)")
            await release.wait()  # the second queues meanwhile, so this one leaves the COMMIT to it

    async def second() -> None:
        async with database.write() as unit:
            await unit.execute("INSERT INTO units (n) VALUES (2)")
            raise ValueError("refused")

    first_task = asyncio.create_task(first())
    await asyncio.sleep(0.01)
    second_task = asyncio.create_task(second())
    await asyncio.sleep(0.01)
    real_commit = Database._commit

    async def commit_while_the_caller_is_stopped(self: Database) -> None:
        asyncio.get_running_loop().call_soon(second_task.cancel)
        await real_commit(self)

    monkeypatch.setattr(Database, "_commit", commit_while_the_caller_is_stopped)
    release.set()
    results = await asyncio.gather(second_task, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError | ValueError)
    await asyncio.wait_for(first_task, 5)  # told, not left waiting
    assert _committed(database.path) == {1}
    await database.close()


async def test_when_sqlite_gives_up_a_whole_transaction_every_unit_in_it_hears_so(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    pages = await database.fetch_value("PRAGMA page_count")
    async with database.write() as unit:
        unit.defer("CREATE TABLE blobs (b BLOB)")
    async with database.write() as unit:
        await unit.execute_fetchall(f"PRAGMA max_page_count = {pages + 4}")
    release = asyncio.Event()

    async def small() -> None:
        async with database.write() as unit:
            unit.defer("INSERT INTO units (n) VALUES (1)")
            await release.wait()

    async def too_big() -> None:
        async with database.write() as unit:
            await unit.execute("INSERT INTO blobs (b) VALUES (zeroblob(400000))")

    small_task = asyncio.create_task(small())
    await asyncio.sleep(0.01)
    big_task = asyncio.create_task(too_big())
    await asyncio.sleep(0.01)
    release.set()
    small_result, big_result = await asyncio.gather(small_task, big_task, return_exceptions=True)
    # A full database is the storage failing, not the statement: the service's 503, with SQLite's reason.
    assert isinstance(big_result, StorageUnavailable)
    assert isinstance(big_result.__cause__, sqlite3.OperationalError)
    # The small unit's work went with the transaction: it must not be told it is committed.
    assert isinstance(small_result, StorageUnavailable | sqlite3.Error)
    assert _committed(database.path) == set()
    assert database.failure is not None
    async with database.write() as unit:  # and the writer goes on working
        unit.defer("INSERT INTO units (n) VALUES (3)")
    assert _committed(database.path) == {3}
    assert _failure_of(database) is None  # a write succeeded: the storage is well again
    await database.close()


def test_every_busy_code_sends_the_begin_to_wait_off_the_loop() -> None:
    def error(code: int) -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = code
        return exc

    busy_recovery, busy_snapshot = sqlite3.SQLITE_BUSY | 1 << 8, sqlite3.SQLITE_BUSY | 2 << 8
    assert all(database_module._is_busy(error(code)) for code in (sqlite3.SQLITE_BUSY, busy_recovery, busy_snapshot))
    assert not database_module._is_busy(error(sqlite3.SQLITE_LOCKED))
    assert not database_module._is_busy(sqlite3.OperationalError("no such table"))


async def test_a_connection_that_fails_to_close_does_not_keep_the_other_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each connection has a worker thread the interpreter waits for at exit: a close that fails must not leave
    the other connection's thread running, or the process could never exit after SIGTERM."""
    database = await _database(tmp_path)
    reader, writer = database._reader, database._writer

    async def fails() -> None:
        await reader._execute(reader._conn.close)  # type: ignore[no-untyped-call]
        reader.stop()
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(reader, "close", fails)
    try:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            await database.close()
        await asyncio.to_thread(writer._thread.join, 5)
        await asyncio.to_thread(reader._thread.join, 5)
        assert not writer._thread.is_alive()
        assert not reader._thread.is_alive()
    finally:
        if writer._thread.is_alive():  # so that a failure here does not also keep the test run from exiting
            await writer.close()
