"""The ``Store`` port's contract, with the same assertions against every store (the ``store`` fixture: SQLite,
in memory, PostgreSQL), and
what only a store that several processes share must add: leases that another connection respects, the
key held across processes, migrations that instances starting at once do not race, and a lost server as
``StorageUnavailable`` followed by a recovery without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import pytest

from carriers.testing import EXAMPLE_START
from logistics.domain.journey import Actor, LegDirection
from logistics.domain.model import Change
from logistics.errors import StorageUnavailable
from logistics.services.ports import (
    AlreadyStored,
    IdempotencyRecord,
    SharedKeys,
    Store,
)
from logistics.storage.migrations import MIGRATIONS
from logistics.storage.postgres import Engine, PostgresStore
from logistics.storage.postgres.engine import migrate, schema_version
from logistics.storage.sqlite_store import SqliteStore
from tests.support.postgres import private_cluster
from tests.support.store_records import pending_intent, queued_notification
from tests.tracking.tracking_builders import build_repair

NOW = EXAMPLE_START
LEASE = timedelta(minutes=2)


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[PostgresStore]:
    engine = await Engine.open(postgres_url, max_size=4)
    try:
        yield PostgresStore(engine, lease=LEASE)
    finally:
        await engine.close()


def change(at: datetime, kind: str = "state_changed") -> Change:
    return Change(kind=kind, occurred_at=at, actor=Actor.SERVICE, source="test")


async def add_repairs(store: Store, *ids: str, tracking: bool = False) -> None:
    async with store.transaction() as tx:
        for repair_id in ids:
            number = f"T-{repair_id}" if tracking else None
            await tx.add_repair(build_repair(repair_id, NOW, tracking_number=number), origin=f"origin-{repair_id}")


async def test_a_repair_is_stored_found_and_its_id_and_origin_are_taken_once(store: Store) -> None:
    await add_repairs(store, "rp-1")
    found = await store.reader().get_repair("rp-1")
    assert found is not None and found.id == "rp-1"
    assert (await store.reader().repair_by_origin("origin-rp-1")) == found
    assert await store.reader().get_repairs([]) == {}
    with pytest.raises(AlreadyStored):
        await add_repairs(store, "rp-1")
    with pytest.raises(AlreadyStored):
        async with store.transaction() as tx:
            await tx.add_repair(build_repair("rp-2", NOW), origin="origin-rp-1")
    assert await store.reader().get_repair("rp-2") is None  # the whole transaction was rolled back


async def test_a_transaction_that_raises_leaves_nothing(store: Store) -> None:
    async def change_of_mind() -> None:
        async with store.transaction() as tx:
            await tx.add_repair(build_repair("rp-1", NOW))
            await tx.append_histories([("rp-1", [change(NOW, "created")])], NOW)
            raise RuntimeError("the service changed its mind")

    with pytest.raises(RuntimeError):
        await change_of_mind()
    assert await store.reader().get_repair("rp-1") is None
    assert await store.reader().history("rp-1") == []


async def test_history_is_numbered_without_gaps(store: Store) -> None:
    await add_repairs(store, "rp-1")
    for minutes in (1, 2):
        async with store.transaction() as tx:
            assert await tx.get_repair("rp-1") is not None
            await tx.append_histories([("rp-1", [change(NOW + timedelta(minutes=minutes))] * 2)], NOW)
    assert [entry.seq for entry in await store.reader().history("rp-1")] == [1, 2, 3, 4]


async def test_many_rows_written_at_once_keep_their_order(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        assert await tx.get_repair("rp-1") is not None
        # 99 rows: written in chunks of several rows (64, 32, 2, 1) where the store batches them.
        entries = await tx.append_histories([("rp-1", [change(NOW + timedelta(seconds=n)) for n in range(99)])], NOW)
        await tx.add_notifications(
            [queued_notification("rp-1", seq, NOW + timedelta(seconds=seq)) for seq in range(1, 100)]
        )
    assert [entry.seq for entry in entries["rp-1"]] == list(range(1, 100))
    history = await store.reader().history("rp-1")
    assert [entry.seq for entry in history] == list(range(1, 100))
    assert [entry.change.occurred_at for entry in history] == [NOW + timedelta(seconds=n) for n in range(99)]
    feed = await store.reader().notification_feed(0, 200)
    assert [entry.notification.seq for entry in feed] == list(range(1, 100))  # the feed in the order queued
    assert [entry.notification.payload for entry in feed] == [{"seq": seq} for seq in range(1, 100)]


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
async def test_the_database_itself_refuses_to_change_history(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        await tx.append_histories([("rp-1", [change(NOW)] * 4)], NOW)
    with pytest.raises(Exception, match="append-only"):
        async with store.transaction() as tx:
            await tx._exec("UPDATE history SET kind = 'outcome' WHERE repair_id = ?", ("rp-1",))  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="append-only"):
        async with store.transaction() as tx:
            await tx._exec("DELETE FROM history WHERE repair_id = ?", ("rp-1",))  # type: ignore[attr-defined]
    assert len(await store.reader().history("rp-1")) == 4


async def test_an_intent_is_claimed_once_per_lease_and_taken_over_when_it_ends(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        await tx.add_intent(pending_intent("rp-1-in", "rp-1", NOW))
    assert [i.reference for i in await store.reader().due_intents(NOW, 10)] == ["rp-1-in"]
    async with store.transaction() as tx:
        claimed = await tx.claim_intent("rp-1-in", NOW, NOW + LEASE)
    assert claimed is not None and claimed.attempts == 1 and claimed.next_attempt_at == NOW + LEASE
    async with store.transaction() as tx:
        assert await tx.claim_intent("rp-1-in", NOW + LEASE / 2, NOW + LEASE * 2) is None  # held
    assert await store.reader().due_intents(NOW + LEASE / 2, 10) == []
    async with store.transaction() as tx:  # the holder died: its lease ends, another takes it over
        again = await tx.claim_intent("rp-1-in", NOW + LEASE, NOW + LEASE * 2)
    assert again is not None and again.attempts == 2


async def test_notifications_of_a_repair_wait_for_an_earlier_one_being_retried(store: Store) -> None:
    await add_repairs(store, "rp-1", "rp-2")
    async with store.transaction() as tx:
        assert await tx.next_notification_seqs(["rp-1", "rp-2"]) == {"rp-1": 1, "rp-2": 1}
        await tx.add_notifications([queued_notification("rp-1", 1, NOW), queued_notification("rp-1", 2, NOW)])
        await tx.add_notifications([queued_notification("rp-2", 1, NOW)])
    due = await store.reader().deliverable_notifications(NOW, 10)
    assert [(n.repair_id, n.seq) for n in due] == [("rp-1", 1), ("rp-1", 2), ("rp-2", 1)]
    async with store.transaction() as tx:  # the first failed: retried in a minute; the others not attempted
        await tx.mark_notification(
            "msg_rp-1_1",
            delivered_at=None,
            attempts=1,
            next_attempt_at=NOW + timedelta(minutes=1),
            last_error="HTTP 503",
            abandoned=False,
        )
        await tx.mark_notification(
            "msg_rp-2_1", delivered_at=NOW, attempts=1, next_attempt_at=NOW, last_error=None, abandoned=False
        )
    assert await store.reader().deliverable_notifications(NOW + timedelta(seconds=30), 10) == []
    later = await store.reader().deliverable_notifications(NOW + timedelta(minutes=1), 10)
    assert [(n.repair_id, n.seq) for n in later] == [("rp-1", 1), ("rp-1", 2)]
    feed = await store.reader().notification_feed(0, 10)
    assert [(e.notification.id, e.delivered_at) for e in feed] == [
        ("msg_rp-1_1", None),
        ("msg_rp-1_2", None),
        ("msg_rp-2_1", NOW),
    ]
    assert [e.position for e in feed] == sorted({e.position for e in feed})
    assert await store.reader().notification_feed(feed[1].position, 10) == feed[2:]
    async with store.transaction() as tx:
        assert await tx.requeue_notifications("rp-2", None, None, NOW + timedelta(hours=1)) == 1


async def test_labels_events_and_answers_are_stored_once(store: Store) -> None:
    await add_repairs(store, "rp-1", tracking=True)
    async with store.transaction() as tx:
        await tx.save_carrier_label("rp-1", LegDirection.INBOUND, "application/pdf", b"%PDF-1")
        await tx.save_carrier_label("rp-1", LegDirection.INBOUND, "application/pdf", b"%PDF-2")
    assert await store.reader().carrier_label("rp-1", LegDirection.INBOUND) == ("application/pdf", b"%PDF-2")
    assert await store.reader().find_leg("line", "T-rp-1") == ("rp-1", LegDirection.INBOUND)
    assert await store.reader().find_legs("line", []) == {}
    assert await store.reader().carrier_events_of([]) == {}


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
