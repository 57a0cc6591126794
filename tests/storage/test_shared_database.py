"""What a PostgreSQL database shared by several instances adds to the store's contract: leases that another
connection respects, an ``Idempotency-Key`` held across processes, migrations that instances starting
together do not race, documents compressed by the server, a lost server as ``StorageUnavailable`` followed
by a recovery without a restart, new outbox work told to every instance at once (NOTIFY at the commit),
and a coverage reload on one instance reloading the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from logistics.errors import StorageUnavailable
from logistics.services.ports import (
    IdempotencyRecord,
    SharedKeys,
)
from logistics.storage.migrations import MIGRATIONS
from logistics.storage.postgres import COVERAGE_CHANNEL, WORK_CHANNEL, Engine, PostgresStore
from logistics.storage.postgres.engine import migrate, schema_version
from logistics.storage.sqlite_store import SqliteStore
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.postgres import private_cluster
from tests.support.service import running_service
from tests.support.store_records import LEASE, NOW, add_repairs, pending_intent, queued_notification
from tests.tracking.tracking_builders import build_repair


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[PostgresStore]:
    engine = await Engine.open(postgres_url, max_size=4)
    try:
        yield PostgresStore(engine, lease=LEASE)
    finally:
        await engine.close()


async def test_migrations_are_recorded_once_when_instances_start_together(empty_postgres_url: str) -> None:
    async def start() -> int:
        conn = await asyncpg.connect(empty_postgres_url)
        try:
            return await migrate(conn)
        finally:
            await conn.close()

    assert await asyncio.gather(*(start() for _ in range(3))) == [len(MIGRATIONS)] * 3
    assert await schema_version(empty_postgres_url) == len(MIGRATIONS)
    conn = await asyncpg.connect(empty_postgres_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
    finally:
        await conn.close()


async def test_documents_are_compressed_with_lz4_and_those_stored_before_still_read(
    postgres: PostgresStore, postgres_url: str
) -> None:
    """Migration 5: new documents large enough to be compressed use lz4; one stored with pglz before reads."""
    large = "x" * 4000  # a row past PostgreSQL's 2 KB threshold, so that its document is compressed
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("ALTER TABLE repairs ALTER COLUMN doc SET COMPRESSION pglz")  # as before migration 5
        async with postgres.transaction() as tx:
            await tx.add_repair(build_repair("rp-old", NOW).model_copy(update={"case_id": large}), origin="origin-old")
        await conn.execute("ALTER TABLE repairs ALTER COLUMN doc SET COMPRESSION lz4")
        await add_repairs(postgres, "rp-new")
        async with postgres.transaction() as tx:
            await tx.add_repair(build_repair("rp-big", NOW).model_copy(update={"case_id": large}), origin="origin-big")
        stored = dict(await conn.fetch("SELECT id, pg_column_compression(doc) FROM repairs"))
        assert stored == {"rp-old": "pglz", "rp-new": None, "rp-big": "lz4"}  # a small document is kept as it is
        columns = await conn.fetch(
            "SELECT attrelid::regclass::text AS tbl, attname, attcompression::text AS method FROM pg_attribute"
            " WHERE attname IN ('doc', 'details', 'request', 'result', 'payload', 'response_body', 'data')"
            " AND attrelid::regclass::text IN ('repairs', 'history', 'booking_intents', 'notifications',"
            " 'idempotency_keys', 'carrier_labels')"
        )
        assert len(columns) == 7 and {c["method"] for c in columns} == {"l"}
    finally:
        await conn.close()
    for repair_id in ("rp-old", "rp-big"):
        repair = await postgres.reader().get_repair(repair_id)
        assert repair is not None and repair.case_id == large


async def test_a_claimed_intent_is_skipped_by_another_connection_not_waited_for(postgres: PostgresStore) -> None:
    await add_repairs(postgres, "rp-1")
    async with postgres.transaction() as tx:
        await tx.add_intent(pending_intent("rp-1-in", "rp-1", NOW))
    async with postgres.transaction() as first:
        assert await first.claim_intent("rp-1-in", NOW, NOW + LEASE) is not None
        # Not yet committed: the other connection skips the row at once instead of waiting for the lock.
        async with postgres.transaction() as second:
            assert await asyncio.wait_for(second.claim_intent("rp-1-in", NOW, NOW + LEASE), 2.0) is None


async def test_notifications_and_polls_are_leased_to_one_claimer_at_a_time(postgres: PostgresStore) -> None:
    await add_repairs(postgres, "rp-1", "rp-2", tracking=True)
    async with postgres.transaction() as tx:
        await tx.add_notifications([queued_notification("rp-1", 1, NOW), queued_notification("rp-1", 2, NOW)])
        await tx.add_notifications([queued_notification("rp-2", 1, NOW)])
    first, second = await asyncio.gather(
        postgres.reader().deliverable_notifications(NOW, 2),
        postgres.reader().deliverable_notifications(NOW, 2),
    )
    claimed = [(n.repair_id, n.seq) for n in first + second]
    assert sorted(claimed) == [("rp-1", 1), ("rp-1", 2), ("rp-2", 1)]  # each once, whoever claimed it
    assert ("rp-1", 2) in [(n.repair_id, n.seq) for batch in (first, second) for n in batch if n.repair_id == "rp-1"]
    by_claimer = [{(n.repair_id, n.seq) for n in batch} for batch in (first, second)]
    assert any({("rp-1", 1), ("rp-1", 2)} <= claims for claims in by_claimer), "a repair's queue went to one claimer"
    assert await postgres.reader().deliverable_notifications(NOW + LEASE / 2, 10) == []  # all leased
    # The claimer died: once the lease ends the same notifications are given again, in order.
    again = await postgres.reader().deliverable_notifications(NOW + LEASE, 10)
    assert [(n.repair_id, n.seq) for n in again] == [("rp-1", 1), ("rp-1", 2), ("rp-2", 1)]

    polls = await asyncio.gather(*(postgres.reader().open_legs_to_poll("line", NOW, 10) for _ in range(3)))
    assert sorted(leg[0] for batch in polls for leg in batch) == ["rp-1", "rp-2"]
    assert await postgres.reader().open_legs_to_poll("line", NOW + LEASE / 2, 10) == []
    assert len(await postgres.reader().open_legs_to_poll("line", NOW + LEASE, 10)) == 2


async def test_a_key_is_held_by_one_process_until_its_answer_or_its_hold_ends(postgres: PostgresStore) -> None:
    assert isinstance(postgres, SharedKeys)
    assert not isinstance(SqliteStore, SharedKeys)
    args = ("case", "key-1", "POST", "/v1/repairs", "hash-1")
    until = NOW + timedelta(minutes=1)
    assert await postgres.claim_idempotency(*args, NOW, until)
    assert not await postgres.claim_idempotency(*args, NOW + timedelta(seconds=30), until)
    # Another request under the key never takes it, even once the hold ran out: it is refused (422) instead.
    assert not await postgres.claim_idempotency("case", "key-1", "POST", "/v1/repairs", "hash-2", until, until)
    assert await postgres.claim_idempotency(*args, until, until + timedelta(minutes=1))  # the hold ran out
    later = until + timedelta(minutes=1)
    assert await postgres.renew_idempotency("case", "key-1", later, later + timedelta(minutes=1))  # kept
    assert not await postgres.renew_idempotency("case", "key-1", later, later)  # no longer this hold's end
    assert not await postgres.claim_idempotency(*args, later, later)  # renewed: still held
    later += timedelta(minutes=1)
    await postgres.release_idempotency("case", "key-1", later, until)
    assert await postgres.claim_idempotency(*args, until, until + timedelta(minutes=2))  # given up: taken at once


async def test_an_answer_stored_in_one_statement_ends_the_hold(postgres: PostgresStore) -> None:
    args = ("case", "key-2", "POST", "/v1/repairs", "hash-1")
    until = NOW + timedelta(minutes=1)
    assert await postgres.claim_idempotency(*args, NOW, until)
    record = IdempotencyRecord(
        principal="case",
        key="key-2",
        method="POST",
        path="/v1/repairs",
        body_hash="hash-1",
        state="done",
        response_status=201,
        response_body=b'{"id": "rp-1"}',
        response_type="application/json",
        locked_at=NOW,
        response_location="/v1/repairs/rp-1",
    )
    await postgres.store_idempotency(record)
    stored = await postgres.reader().idempotency("case", "key-2")
    assert stored is not None and stored.state == "done" and stored.response_body == b'{"id": "rp-1"}'
    assert not await postgres.renew_idempotency("case", "key-2", until, until + timedelta(minutes=1))
    assert not await postgres.claim_idempotency(*args, until + timedelta(hours=1), until + timedelta(hours=2))
    # A stored answer is final: another copy does not replace it.
    await postgres.store_idempotency(replace(record, response_status=200, response_body=b"{}"))
    again = await postgres.reader().idempotency("case", "key-2")
    assert again is not None and again.response_status == 201 and again.response_body == b'{"id": "rp-1"}'


async def test_a_lost_server_is_a_503_and_the_store_recovers_by_itself() -> None:
    with private_cluster(durable=True) as cluster:  # fsync on: a committed repair outlives the crash
        engine = await Engine.open(cluster.url(), max_size=2)
        store = PostgresStore(engine)
        try:
            await add_repairs(store, "rp-1")
            cluster.stop("immediate")
            with pytest.raises(StorageUnavailable):
                await store.ping()
            assert await store.writable() is not None
            with pytest.raises(StorageUnavailable):
                await add_repairs(store, "rp-2")
            cluster.start()
            await add_repairs(store, "rp-2")  # the pool opened new connections: no restart of the service
            assert await store.writable() is None
            assert set(await store.reader().get_repairs(["rp-1", "rp-2"])) == {"rp-1", "rp-2"}
        finally:
            await engine.close()


async def test_work_committed_on_one_connection_is_told_to_every_listener(postgres_url: str) -> None:
    engine = await Engine.open(postgres_url, max_size=2)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        store = PostgresStore(engine)
        async with engine.listening({WORK_CHANNEL: heard.put_nowait, COVERAGE_CHANNEL: heard.put_nowait}):
            await asyncio.sleep(0.2)  # the listener connects
            await add_repairs(store, "rp-1")
            assert heard.empty()  # a repair alone queues no work
            async with store.transaction() as tx:
                await tx.add_intent(pending_intent("rp-1-in", "rp-1", NOW))
                await tx.add_notifications([queued_notification("rp-1", 1, NOW)])
                assert heard.empty()  # told at the COMMIT, not before
            assert await asyncio.wait_for(heard.get(), 5) == "bookings notifications"
            async with store.transaction() as tx:
                await tx.requeue_notifications("rp-1", None, None, NOW + timedelta(minutes=1))
            assert await asyncio.wait_for(heard.get(), 5) == "notifications"
    finally:
        await engine.close()


async def test_work_of_a_transaction_that_fails_is_neither_written_nor_told(postgres_url: str) -> None:
    engine = await Engine.open(postgres_url, max_size=1)  # one connection: the next transaction reuses it
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        store = PostgresStore(engine)
        await add_repairs(store, "rp-1")
        async with engine.listening({WORK_CHANNEL: heard.put_nowait}):
            await asyncio.sleep(0.2)  # the listener connects

            async def failing() -> None:
                async with store.transaction() as tx:
                    await tx.add_intent(pending_intent("rp-1-in", "rp-1", NOW))
                    raise RuntimeError("the caller's work failed")

            with pytest.raises(RuntimeError):
                await failing()
            assert await store.reader().intent("rp-1-in") is None
            async with store.transaction() as tx:  # the connection was given back out of the transaction
                await tx.add_notifications([queued_notification("rp-1", 1, NOW)])
            assert await asyncio.wait_for(heard.get(), 5) == "notifications"
            await asyncio.sleep(0.2)
            assert heard.empty()  # the failed transaction's bookings were never told
    finally:
        await engine.close()


async def test_a_coverage_reload_on_one_instance_reloads_the_others(tmp_path: Path, postgres_url: str) -> None:
    async with (
        running_service(tmp_path / "a", database_url=postgres_url) as first,
        running_service(tmp_path / "b", database_url=postgres_url) as second,
    ):
        await asyncio.sleep(0.2)  # both listen
        status, body, _ = await first.call("POST", "/v1/admin/coverage/reload", "operator")
        assert status == 200 and body["generation"] == 2
        for _ in range(100):
            if second.services.coverage.generation == 2:
                break
            await asyncio.sleep(0.05)
        assert second.services.coverage.generation == 2
        await asyncio.sleep(0.2)
        assert first.services.coverage.generation == 2  # its own announcement is not taken as another's


async def test_the_service_answers_503_while_its_database_is_away_and_recovers_by_itself(tmp_path: Path) -> None:
    with private_cluster(durable=True) as cluster:
        async with running_service(tmp_path, database_url=cluster.url()) as service:
            status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-DB-1"))
            assert status in (201, 202), created
            cluster.stop("fast")
            status, health, answer = await service.call("GET", "/health", None)
            assert status == 503 and health["checks"]["database"] == "failing"
            assert answer.headers["Retry-After"]
            status, refused, answer = await service.call(
                "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-DB-2")
            )
            assert status == 503 and refused["code"] == "storage.unavailable", refused
            assert answer.headers["Retry-After"]
            cluster.start()
            status, health, _ = await service.call("GET", "/health", None)
            assert status == 200, health
            status, again, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-DB-2"))
            assert status in (201, 202), again
            _, listed, _ = await service.call("GET", "/v1/repairs")
            assert sorted(item["case_id"] for item in listed["items"]) == ["C-DB-1", "C-DB-2"]  # none half-written


async def test_instances_claiming_a_pass_at_once_give_it_to_one(postgres_url: str) -> None:
    engines = [await Engine.open(postgres_url, max_size=5) for _ in range(2)]
    try:
        stores = [PostgresStore(engine) for engine in engines]

        async def claim(number: int) -> bool:
            async with stores[number % 2].transaction() as tx:
                return await tx.claim_pass("turnaround", f"instance-{number}", NOW, NOW + LEASE)

        taken = await asyncio.gather(*(claim(number) for number in range(10)))
        assert taken.count(True) == 1
    finally:
        for engine in engines:
            await engine.close()
