"""Three instances on one PostgreSQL, killed with SIGKILL at random while they book and notify.

Three ``logistics serve`` processes (workers on) share one database, book with a fake UPS that runs in its
own process and keeps its ledger across everything, and notify a webhook receiver. Clients keep creating
repairs on whichever instance is up (and send unanswered ones again under their key); meanwhile a seeded
random instance is killed with SIGKILL (its whole process group) every fraction of a second, as long as
another one is serving, and started again on its port: at least ``KILLS`` times. Then the pool settles.

Afterwards: every create was acknowledged and names one repair; every acknowledged repair has exactly one
shipment and one pickup at UPS and no booking exists for anything else; every notification the database
holds arrived at the receiver, first arrivals in sequence order per repair; and no lease is held.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from logistics.app import HOUSEKEEPING_PERIOD_S
from tests.multi.load import (
    CaseSystem,
    database_name,
    held_leases,
    notification_order_problems,
    pass_claims_beyond,
    pending_bookings,
    stored_notifications,
    undelivered,
)
from tests.support.instances import Fleet, Instance, fake_ups, fleet_stopped_after, ledger
from tests.support.postgres import PostgresCluster
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.slow

SEED = 20261205
KILLS = 30
CLIENTS = 2
KILL_EVERY_S = (0.1, 0.6)
SETTLE_WITHIN_S = 90.0


@pytest.mark.timeout(420)
async def test_sigkilled_instances_lose_no_acknowledged_repair_book_nothing_twice_and_notify_in_order(
    postgres_cluster: PostgresCluster, postgres_url: str, tmp_path: Path
) -> None:
    kills_rng, load_rng = random.Random(SEED), random.Random(SEED + 1)
    database = database_name(postgres_url)
    began = time.monotonic()
    async with webhook_receiver(lambda: datetime.now(UTC)) as receiver:
        with fake_ups(tmp_path) as ups_url:
            fleet = Fleet.on(tmp_path, 3, database_url=postgres_url, ups_url=ups_url, webhook_url=receiver.url)
            with fleet_stopped_after(fleet):
                connector = aiohttp.TCPConnector(force_close=True)  # no pooled connection outlives a killed server
                async with aiohttp.ClientSession(connector=connector) as http:
                    await fleet.start(http)
                    started = time.monotonic() - began
                    serving: set[Instance] = set(fleet.instances)

                    def up() -> list[str]:
                        return [i.base_url for i in fleet.instances if i in serving]

                    clients = CaseSystem(http, load_rng, "CRASH")
                    first = clients.new_request()
                    await clients.send(first, fleet.base_urls[0])
                    assert first.acknowledged, f"with nothing killed, a create was answered {first.answers}"

                    async def restart(instance: Instance) -> None:
                        instance.start()
                        await instance.wait_healthy(http)
                        serving.add(instance)

                    done = asyncio.Event()
                    load = [asyncio.create_task(clients.keep_creating(up, done)) for _ in range(CLIENTS)]
                    restarts: list[asyncio.Task[None]] = []
                    kills = 0
                    while kills < KILLS:
                        await asyncio.sleep(kills_rng.uniform(*KILL_EVERY_S))
                        candidates = sorted(serving, key=lambda i: i.name)
                        if len(candidates) < 2:
                            continue  # one instance keeps serving, so that clients get answers at all
                        victim = kills_rng.choice(candidates)
                        serving.discard(victim)
                        victim.kill()
                        kills += 1
                        restarts.append(asyncio.create_task(restart(victim)))
                    done.set()
                    await asyncio.gather(*load)
                    await asyncio.gather(*restarts)
                    looped = time.monotonic() - began - started

                    await clients.settle(up, SETTLE_WITHIN_S)
                    clients.check_acknowledgements()
                    await _drained(postgres_cluster, database, receiver.received, SETTLE_WITHIN_S)
                    leases = await asyncio.to_thread(held_leases, postgres_cluster, database, datetime.now(UTC))
                    assert not leases, f"leases still held once everything was booked and delivered: {leases[:10]}"
                    longest_period = timedelta(seconds=HOUSEKEEPING_PERIOD_S)
                    stuck = await asyncio.to_thread(
                        pass_claims_beyond, postgres_cluster, database, datetime.now(UTC) + longest_period
                    )
                    assert not stuck, f"periodic passes claimed for longer than their period: {stuck}"
                    settled = time.monotonic() - began - started - looped
                    held = await ledger(http, ups_url)
                    print(
                        f"\nmulti-instance crash test: {kills} SIGKILLs over 3 instances "
                        f"({sum(len(i.pids) for i in fleet.instances)} processes started), "
                        f"{len(clients.requests)} creates ({sum(len(r.answers) for r in clients.requests)} sends, "
                        f"answers {dict(sorted(clients.answers.statuses.items()))}), "
                        f"{len(receiver.received)} webhook deliveries; start {started:.0f} s, "
                        f"kill loop {looped:.0f} s, settling {settled:.0f} s"
                    )
                    await _check_bookings(http, fleet, clients, held)
            stored = await asyncio.to_thread(stored_notifications, postgres_cluster, database)
            problems = notification_order_problems(receiver.received, stored)
            assert not problems, f"notifications missing or out of order: {problems[:10]}"


async def _drained(cluster: PostgresCluster, database: str, received: list[Any], within_s: float) -> None:
    """Until no booking is pending and every notification is delivered (or ``within_s`` passes)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        bookings = await asyncio.to_thread(pending_bookings, cluster, database)
        notifications = await asyncio.to_thread(undelivered, cluster, database)
        if bookings == 0 and notifications == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"after {within_s:.0f} s, {bookings} booking(s) still pending and {notifications} notification(s) "
        f"undelivered ({len(received)} deliveries received)"
    )


async def _check_bookings(http: aiohttp.ClientSession, fleet: Fleet, clients: CaseSystem, held: dict[str, Any]) -> None:
    assert held["schema_violations"] == [], "the service sent UPS requests outside UPS's schemas"
    shipments: dict[str, list[Any]] = held["shipments"]
    pickups: dict[str, list[Any]] = held["pickups"]
    twice = {ref: len(b) for ref, b in [*shipments.items(), *pickups.items()] if len(b) != 1}
    assert not twice, f"references booked more than once at UPS: {twice}"

    repair_ids = clients.repair_ids()
    missing = [
        reference
        for repair_id in repair_ids.values()
        for reference, booked in ((f"{repair_id}-in", shipments), (f"{repair_id}-in-p1", pickups))
        if len(booked.get(reference, [])) != 1
    ]
    assert not missing, f"acknowledged repairs without their UPS booking: {missing[:10]}"
    known = set(repair_ids.values())
    orphans = sorted(ref for ref in [*shipments, *pickups] if ref.split("-in")[0] not in known)
    assert not orphans, f"UPS bookings for repairs no client was given: {orphans[:10]}"

    base_url = fleet.base_urls[0]
    lost = []
    for case_id, repair_id in repair_ids.items():
        async with http.get(f"{base_url}/v1/repairs", params={"case_id": case_id}, headers=clients.headers) as listed:
            items = [item["id"] for item in (await listed.json())["items"]]
        if items != [repair_id]:
            lost.append(f"{case_id}: acknowledged {repair_id}, the service lists {items}")
    assert not lost, f"acknowledged repairs lost or duplicated: {lost[:10]}"
