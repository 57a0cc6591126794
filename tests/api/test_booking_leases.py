"""A booking's lease outlasts every carrier call made under it, waits for a concurrency slot included, so an
intent is never taken over while its first attempt may still reach the carrier."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carriers.resilience import ResilientCarrier
from carriers.sim.adapter import SimCarrier
from carriers.sim.settings import FaultStep
from logistics.services.ports import RepairFilter
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service, running_service

DEADLINE_S = 1.2
LEASE_S = 1.3  # just over the call deadline, as the settings require


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Service]:
    policy = {"attempt_timeout_s": 1.0, "deadline_s": DEADLINE_S, "max_attempts": 1, "max_concurrency": 2}
    async with running_service(tmp_path, clock, call_policy=policy, booking_lease_s=LEASE_S) as running:
        yield running


def _sim(service: Service) -> SimCarrier:
    wrapped = service.services.carriers["sim"]
    assert isinstance(wrapped, ResilientCarrier) and isinstance(wrapped.adapter, SimCarrier)
    return wrapped.adapter


async def _shipment_references(service: Service) -> list[str]:
    reader = service.services.store.reader()
    repairs = (await reader.list_repairs(RepairFilter(), 200, None)).items
    intents = [i for repair in repairs for i in await reader.intents_for(repair.id)]
    return [i.reference for i in intents if i.operation == "create_shipment"]


async def test_a_create_that_queued_for_a_carrier_slot_is_never_booked_twice(service: Service) -> None:
    sim = _sim(service)
    # Two slots, three creates at once, each shipment taking 0.9 s at the carrier: the third waits ~0.9 s for
    # a slot. That wait counts towards its 1.2 s deadline, so its call ends before its 1.3 s lease does.
    sim.faults.extend([FaultStep(operation="create_shipment", kind="latency", delay_s=0.9, times=3)])
    started = time.monotonic()
    creates = [
        asyncio.create_task(service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, f"C-SLOT-{n}")))
        for n in range(3)
    ]
    # Once every lease has run out (the service's clock follows real time here), the worker takes over
    # whatever is due: nothing may still be on its way to the carrier by then.
    await asyncio.sleep(LEASE_S + 0.1 - (time.monotonic() - started))
    service.clock.advance(seconds=LEASE_S + 0.1)
    await service.services.bookings.run_due()
    answers = await asyncio.gather(*creates)
    await asyncio.sleep(1.0)  # a call that outlived its lease would land meanwhile
    service.clock.advance(seconds=600)
    await service.services.bookings.run_due()  # and the retries still due: each booked once, at most

    assert sorted(status for status, _, _ in answers) in ([201, 201, 201], [201, 201, 202])
    booked = {reference: len(sim.shipments_for(reference)) for reference in await _shipment_references(service)}
    assert len(booked) == 3 and set(booked.values()) == {1}, booked
