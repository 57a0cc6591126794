"""Tracking throughput on one event loop: carrier events ingested per second, notifications delivered per second.

1. Ingestion: open inbound legs in a SQLite file receive carrier events (a quarter of them repeats of events
   already sent, in shuffled order, so most legs hear their scans out of the carrier's order) through
   ``Tracking.ingest``: deduplication, the journey read by the carrier's clock, the history and the
   notifications it queues, all written durably. Three shapes: poll-sized batches (50 and 100 events, one
   call at a time, as the poller makes them), pushes of 20, and single-event pushes 8 at a time (carriers
   open several connections; their transactions share commits).
2. Delivery: the notifications queued that way are posted, signed, to a receiver on 127.0.0.1 (an aiohttp
   app in the same process and on the same event loop, so both ends share one core) by ``WebhookDelivery``
   passes until the outbox is empty.

Each figure is given per second of wall time and per second of this process's CPU time: everything runs
on one event loop, so the second is what one core sustains, whatever else the machine is running.

Run: ``python tests/bench/bench_tracking.py [--repairs N]``. Prints figures; asserts nothing. Targets on one
core: 3,000 events/s in poll-sized batches, 1,000 events/s in single-event pushes 8 at a time, 1,000
notifications/s. Bounded to well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from carriers import TrackingEvent, TrackingStatus
from logistics.config import WebhookSettings
from logistics.domain.journey import Actor, JourneyState, LegDirection, LegMethod, LegStatus
from logistics.domain.model import Change, Leg, Repair, Routed
from logistics.domain.routing import Device, Entitlement, ProductLine, ServiceLevel, SiteAddress
from logistics.services.notifications import record
from logistics.services.tracking import Tracking
from logistics.services.webhook_delivery import WebhookDelivery
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from tests.bench.host import calibration, machine_load

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
SECRET = "whsec_" + "YmVuY2htYXJrLW9ubHktd2ViaG9vay1zaWduaW5nLWtleQ=="
CHAIN = (
    TrackingStatus.LABEL_CREATED,
    TrackingStatus.DROPPED_OFF,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.EXCEPTION,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED,
)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def repair(index: int) -> Repair:
    repair_id = f"rp_bench_{index:06d}"
    return Repair(
        id=repair_id,
        case_id=f"case-{index}",
        centre_id="centre-lyon",
        region_id="fr-metro",
        language="fr",
        site=SiteAddress(
            name="Atelier",
            street_lines=("1 rue de la Paix",),
            city="Paris",
            postal_code="75002",
            country="FR",
            phone="+33100000000",
        ),
        device=Device(product_line=ProductLine.NOTEBOOK, model="EliteBook", serial_number=f"SN{index}"),
        entitlement=Entitlement(service_level=ServiceLevel.CUSTOMER_SHIP, country_of_purchase="FR"),
        routed=Routed(site_time_zone="Europe/Paris"),
        state=JourneyState.AWAITING_DROP_OFF,
        inbound=Leg(
            direction=LegDirection.INBOUND,
            method=LegMethod.CUSTOMER_DROP_OFF,
            carrier="bench",
            status=LegStatus.LABEL_CREATED,
            booking_reference=f"{repair_id}-in",
            tracking_number=f"BT{index:08d}",
        ),
        state_since={JourneyState.AWAITING_DROP_OFF.value: START},
        created_at=START,
        updated_at=START,
    )


def pushes(repairs: int, per_call: int, repeat_share: float, rng: random.Random) -> list[list[TrackingEvent]]:
    """Every leg's chain of events, shuffled across legs, with repeats, cut into pushes of ``per_call``."""
    events = [
        TrackingEvent(
            carrier="bench",
            tracking_number=f"BT{i:08d}",
            event_id=f"{i}-{n}",
            occurred_at=START + timedelta(hours=n),
            status=status,
            raw_code=status.value.upper(),
            raw_description=status.value.replace("_", " "),
            location="Lyon",
        )
        for i in range(repairs)
        for n, status in enumerate(CHAIN)
    ]
    events += rng.sample(events, int(len(events) * repeat_share))
    rng.shuffle(events)
    return [events[i : i + per_call] for i in range(0, len(events), per_call)]


async def bench_ingest(
    store: SqliteStore, repairs: int, per_call: int, concurrency: int = 1
) -> tuple[int, int, float, float]:
    rng = random.Random(7)
    async with store.transaction() as tx:
        for i in range(repairs):
            await tx.add_repair(repair(i))
    calls = pushes(repairs, per_call, 0.25, rng)
    tracking = Tracking(store, FixedClock(START + timedelta(days=1)))
    accepted = duplicates = 0
    queue = list(reversed(calls))

    async def pusher() -> None:  # one carrier connection sending its pushes one after the other
        nonlocal accepted, duplicates
        while queue:
            result = await tracking.ingest("bench", queue.pop(), "push")
            accepted += result.accepted
            duplicates += result.duplicates

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(pusher() for _ in range(concurrency)))
    return accepted, duplicates, time.perf_counter() - started, time.process_time() - cpu


class Receiver:
    def __init__(self) -> None:
        self.count = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.count += 1
        return web.Response(status=204)


async def queue_notifications(store: SqliteStore, repairs: int, per_repair: int) -> None:
    """More notifications, queued as services queue them, so delivery has a backlog worth timing."""
    now = START + timedelta(days=1)
    async with store.transaction() as tx:
        for i in range(repairs):
            stored = await tx.get_repair(repair(i).id)
            assert stored is not None
            changes = [
                Change(kind="booking", occurred_at=now, actor=Actor.SERVICE, source=f"bench-{n}")
                for n in range(per_repair)
            ]
            await record(tx, stored, changes, now)


async def bench_delivery(store: SqliteStore) -> tuple[int, float, float]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    settings = WebhookSettings.model_validate({"url": f"http://127.0.0.1:{port}/hooks", "secret": SECRET, "batch": 500})
    delivered = 0
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            delivery = WebhookDelivery(store, FixedClock(START + timedelta(days=1)), settings, session)
            started, cpu = time.perf_counter(), time.process_time()
            while True:
                sent = await delivery.deliver_due()
                if sent == 0:
                    break
                delivered += sent
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await runner.cleanup()
    return delivered, elapsed, cpu


async def ingest_scenario(label: str, repairs: int, per_call: int, concurrency: int, target: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = await Database.open(Path(tmp) / "bench.db")
        try:
            accepted, duplicates, elapsed, cpu = await bench_ingest(
                SqliteStore(database), repairs, per_call, concurrency
            )
        finally:
            await database.close()
    total = accepted + duplicates
    print(
        f"ingest, {label}: {total} events ({accepted} new, {duplicates} repeats) in calls of {per_call},"
        f" {concurrency} at a time, over {repairs} legs: {elapsed:.2f} s, {total / elapsed:,.0f} events/s;"
        f" {cpu:.2f} s CPU, {total / cpu:,.0f} events per CPU-second (target {target:,}/s)"
    )


async def main(repairs: int, per_call: int) -> None:
    print(machine_load())
    print(calibration())
    await ingest_scenario("poll-sized batches", repairs, 50, 1, 3000)
    await ingest_scenario("poll-sized batches", repairs, 100, 1, 3000)
    await ingest_scenario("pushes", repairs, per_call, 1, 1000)
    await ingest_scenario("single-event pushes", repairs, 1, 8, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        database = await Database.open(Path(tmp) / "bench.db")
        try:
            store = SqliteStore(database)
            async with store.transaction() as tx:
                for i in range(repairs):
                    await tx.add_repair(repair(i))
            await queue_notifications(store, repairs, 8)
            depth = (await store.reader().outbox_depth())["notifications"]
            delivered, elapsed, cpu = await bench_delivery(store)
            print(
                f"deliver: {delivered} of {depth} notifications to 127.0.0.1 (receiver in the same process):"
                f" {elapsed:.2f} s, {delivered / elapsed:,.0f} notifications/s; {cpu:.2f} s CPU,"
                f" {delivered / cpu:,.0f} per CPU-second (target 1,000/s)"
            )
        finally:
            await database.close()
    print(machine_load())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repairs", type=int, default=300, help="open legs receiving events")
    parser.add_argument("--per-call", type=int, default=20, help="events per push")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.repairs, arguments.per_call))
