"""Instances sharing one PostgreSQL database tell each other what changed: new outbox work wakes the workers
of every instance at once (NOTIFY at the commit), and a coverage reload on one instance reloads the others."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from logistics.storage.postgres import COVERAGE_CHANNEL, WORK_CHANNEL, Engine, PostgresStore
from tests.storage.test_store_contract import NOW, add_repairs
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.postgres import private_cluster
from tests.support.service import running_service
from tests.support.store_records import pending_intent, queued_notification


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
