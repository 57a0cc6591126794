"""PostgreSQL goes away under load and comes back: nothing acknowledged is lost, and the service recovers alone.

Two instances share a private cluster of this test's own (fsync on). Clients keep creating repairs; the
database server is stopped as a crash would stop it (``immediate``: no checkpoint, recovery at the next start),
kept down for a few seconds, and started again on the same port. Meanwhile ``/health`` must fail on every
instance and creates must be refused with 503 and ``Retry-After`` (never a 500). Once the server is back,
the same instance processes (same pids) answer ``/health`` with 200 again, every unanswered create sent again
under its key is acknowledged, every acknowledged repair is there whole, and no repair exists that no client
was told about.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import pytest

from tests.multi.load import CaseSystem, rows
from tests.support.instances import Fleet, Instance, fake_ups, fleet_stopped_after
from tests.support.postgres import private_cluster

pytestmark = pytest.mark.slow

SEED = 20261206
CLIENTS = 4
LOAD_BEFORE_S = 3.0
DOWN_S = 4.0
LOAD_AFTER_S = 3.0
RECOVER_WITHIN_S = 30.0
# A create cut off by the outage may leave its Idempotency-Key held until its hold runs out (10 s), and a retry
# waits up to 30 s for the holder before it answers 409: a client has its answer well within this.
SETTLE_WITHIN_S = 60.0


async def health(http: aiohttp.ClientSession, instance: Instance) -> int:
    """``/health``'s status (0: no answer within 5 s)."""
    try:
        async with http.get(f"{instance.base_url}/health", timeout=aiohttp.ClientTimeout(total=5)) as answer:
            return answer.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


@pytest.mark.timeout(300)
async def test_a_database_restart_under_load_loses_no_acknowledged_write_and_needs_no_service_restart(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    with private_cluster(durable=True) as cluster:
        database = cluster.create_database()
        with fake_ups(tmp_path) as ups_url:
            fleet = Fleet.on(tmp_path, 2, database_url=cluster.url(database), ups_url=ups_url)
            with fleet_stopped_after(fleet):
                connector = aiohttp.TCPConnector(force_close=True)
                async with aiohttp.ClientSession(connector=connector) as http:
                    await fleet.start(http)
                    pids = [instance.pid for instance in fleet.instances]
                    clients = CaseSystem(http, rng, "PGDOWN")
                    done = asyncio.Event()
                    load = [
                        asyncio.create_task(clients.keep_creating(lambda: fleet.base_urls, done))
                        for _ in range(CLIENTS)
                    ]
                    await asyncio.sleep(LOAD_BEFORE_S)
                    before = sum(clients.answers.statuses.values())

                    await asyncio.to_thread(cluster.stop, "immediate")
                    health_while_down: dict[str, set[int]] = {i.name: set() for i in fleet.instances}
                    down_until = time.monotonic() + DOWN_S
                    while time.monotonic() < down_until:
                        for instance in fleet.instances:
                            health_while_down[instance.name].add(await health(http, instance))
                        await asyncio.sleep(0.2)
                    unavailable = clients.answers.unavailable_with_retry_after
                    await asyncio.to_thread(cluster.start)

                    recovered_in = await _healthy_again(http, fleet.instances)
                    await asyncio.sleep(LOAD_AFTER_S)
                    done.set()
                    await asyncio.gather(*load)
                    settling = time.monotonic()
                    await clients.settle(lambda: fleet.base_urls, SETTLE_WITHIN_S)
                    settling = time.monotonic() - settling

                    print(
                        f"\ndatabase restart: {len(clients.requests)} creates, "
                        f"answers {dict(sorted(clients.answers.statuses.items()))}, "
                        f"{before} before the stop; /health while down {health_while_down}; "
                        f"healthy again {recovered_in:.1f} s after the start; unanswered creates answered "
                        f"{settling:.1f} s after the load stopped"
                    )
                    for name, seen in health_while_down.items():
                        assert 200 not in seen, f"{name}: /health answered 200 while the database was down"
                        assert seen - {0}, f"{name}: /health never answered while the database was down: {seen}"
                    assert unavailable > 0, "no create was refused with 503 and Retry-After while the database was down"
                    assert clients.answers.unavailable_without_retry_after == 0, "a 503 without Retry-After"
                    assert not clients.answers.server_errors, (
                        f"answers other than 503: {clients.answers.server_errors[:5]}"
                    )
                    assert [i.pid for i in fleet.instances] == pids, "an instance was restarted"

                    clients.check_acknowledgements()
                    acknowledged = clients.repair_ids()
                    lost = []
                    for case_id, repair_id in acknowledged.items():
                        async with http.get(
                            f"{fleet.base_urls[0]}/v1/repairs/{repair_id}", headers=clients.headers
                        ) as answer:
                            body = await answer.json(content_type=None)
                            if answer.status != 200 or body.get("case_id") != case_id:
                                lost.append(f"{case_id}: {repair_id} answers {answer.status}")
                    assert not lost, f"acknowledged repairs lost across the database restart: {lost[:10]}"

        stored = {repair_id for (repair_id,) in rows(cluster, database, "SELECT id FROM repairs")}
        assert stored == set(acknowledged.values()), (
            f"repairs no client was told of: {sorted(stored - set(acknowledged.values()))[:5]}"
        )
        headless = rows(
            cluster,
            database,
            "SELECT r.id FROM repairs r WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.repair_id = r.id) "
            "OR NOT EXISTS (SELECT 1 FROM legs l WHERE l.repair_id = r.id)",
        )
        assert not headless, f"half-written repairs (no history or no leg): {headless[:5]}"


async def _healthy_again(http: aiohttp.ClientSession, instances: list[Instance]) -> float:
    started = time.monotonic()
    waiting = list(instances)
    while waiting:
        if time.monotonic() - started > RECOVER_WITHIN_S:
            raise AssertionError(
                f"{', '.join(i.name for i in waiting)} not healthy {RECOVER_WITHIN_S:.0f} s after the database "
                "came back"
            )
        waiting = [i for i in waiting if await health(http, i) != 200]
        await asyncio.sleep(0.2)
    return time.monotonic() - started
