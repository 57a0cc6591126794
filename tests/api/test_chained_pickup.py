"""A new repair's courier pickup is booked right after its shipment and both are recorded together; every
way the pickup can go wrong leaves the shipment recorded and the pickup booked once, later, or flagged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from carriers.resilience import ResilientCarrier
from carriers.sim.adapter import SimCarrier
from carriers.sim.settings import FaultStep
from logistics.domain.model import Slot
from logistics.domain.routing import SiteAddress
from logistics.services import carrier_requests
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service, running_service


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Service]:
    # One attempt per carrier call: the faults below reach the booking outbox instead of being retried inline.
    async with running_service(tmp_path, clock, call_policy={"max_attempts": 1}) as running:
        yield running


def _sim(service: Service) -> SimCarrier:
    wrapped = service.services.carriers["sim"]
    assert isinstance(wrapped, ResilientCarrier) and isinstance(wrapped.adapter, SimCarrier)
    return wrapped.adapter


async def _intents(service: Service, repair_id: str) -> dict[str, tuple[str, int, str | None]]:
    intents = await service.services.store.reader().intents_for(repair_id)
    return {i.reference: (i.status, i.attempts, i.last_error) for i in intents}


async def _create(service: Service, case_id: str) -> dict[str, Any]:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, case_id))
    assert status in (201, 202), created  # 202: a booking waits for the outbox
    return dict(created["repair"])


async def test_shipment_and_pickup_are_booked_and_recorded_in_order(service: Service) -> None:
    repair = await _create(service, "C-CHAIN-1")
    assert repair["inbound"]["status"] == "pickup_scheduled"
    assert repair["inbound"]["tracking_number"] and repair["inbound"]["pickup_confirmation"]
    assert (await _intents(service, repair["id"])) == {
        f"{repair['id']}-in": ("done", 1, None),
        f"{repair['id']}-in-p1": ("done", 1, None),
    }
    assert len(_sim(service).pickups_for(f"{repair['id']}-in-p1")) == 1
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    bookings = [e["details"] for e in history["items"] if e["kind"] == "booking"]
    assert [b["pickup_confirmation"] is not None for b in bookings] == [False, True]  # shipment, then pickup
    seqs = [e["seq"] for e in history["items"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_a_pickup_refused_for_good_flags_the_repair_and_keeps_the_shipment(service: Service) -> None:
    _sim(service).faults.extend([FaultStep(operation="schedule_pickup", kind="reject", code="PU-9")])
    repair = await _create(service, "C-CHAIN-2")
    assert repair["inbound"]["tracking_number"]  # the shipment stands
    assert repair["inbound"]["pickup_confirmation"] is None
    assert [flag["code"] for flag in repair["flags"]] == ["booking.failed"]
    intents = await _intents(service, repair["id"])
    assert intents[f"{repair['id']}-in"][0] == "done"
    assert intents[f"{repair['id']}-in-p1"][0] == "failed"
    assert _sim(service).pickups_for(f"{repair['id']}-in-p1") == []


async def test_a_pickup_whose_outcome_is_unknown_is_booked_once_by_the_worker(service: Service) -> None:
    # The carrier books it, then answers 503: the worker looks it up before booking again, and finds it.
    fault = FaultStep(operation="schedule_pickup", kind="http_error", status=503, after_apply=True)
    _sim(service).faults.extend([fault])
    repair = await _create(service, "C-CHAIN-3")
    reference = f"{repair['id']}-in-p1"
    assert repair["inbound"]["tracking_number"] and repair["inbound"]["pickup_confirmation"] is None
    status, attempts, error = (await _intents(service, repair["id"]))[reference]
    assert (status, attempts) == ("pending", 1) and error is not None
    service.clock.advance(minutes=15)
    assert await service.services.bookings.run_due() == 1
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["inbound"]["status"] == "pickup_scheduled"
    assert len(_sim(service).pickups_for(reference)) == 1


async def test_a_shipment_taken_over_looks_its_pickup_up_before_booking_it(service: Service) -> None:
    """What a process that died after chaining the pickup, before recording anything, leaves: the carrier
    holds the pickup; the service only a leased shipment. Taking the shipment over must not book again."""
    sim = _sim(service)
    sim.faults.extend([FaultStep(operation="create_shipment", kind="http_error", status=503)])
    repair = await _create(service, "C-CHAIN-4")
    assert repair["inbound"]["tracking_number"] is None  # the shipment waits for the worker
    slot = repair["inbound"]["pickup"]
    booked_before = await sim.schedule_pickup(
        carrier_requests.pickup_request(
            f"{repair['id']}-in-p1",
            SiteAddress.model_validate(PARIS_SITE),
            (carrier_requests.parcel_for("notebook"),),
            Slot.model_validate(slot),
            ("1ZPREVIOUS01",),
        )
    )
    service.clock.advance(minutes=15)
    await service.services.bookings.run_due()
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["inbound"]["pickup_confirmation"] == booked_before.confirmation
    assert len(sim.pickups_for(f"{repair['id']}-in-p1")) == 1
    assert (await _intents(service, repair["id"]))[f"{repair['id']}-in-p1"][:2] == ("done", 2)


async def test_a_repair_cancelled_while_its_pickup_is_booked_gets_both_bookings_undone(service: Service) -> None:
    sim = _sim(service)
    sim.faults.extend([FaultStep(operation="schedule_pickup", kind="latency", delay_s=0.3)])
    body = repair_request(PARIS_SITE, "C-CHAIN-5")
    creating = asyncio.create_task(
        service.call("POST", "/v1/repairs", json=body, headers={"Idempotency-Key": "chain-5"})
    )
    await asyncio.sleep(0.15)  # the shipment is booked; the pickup is on its way
    (repair_id,) = [r.booking.reference.removesuffix("-in") for r in sim.store.state.shipments]
    status, cancelled, _ = await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"})
    assert status == 200 and cancelled["state"] == "cancelled"
    status, created, _ = await creating
    assert status in (201, 202) and created["repair"]["state"] == "cancelled"
    await service.services.bookings.run_due()  # the compensations the late bookings left behind
    (pickup,) = [r for r in sim.store.state.pickups if r.booking.reference == f"{repair_id}-in-p1"]
    (shipment,) = [r for r in sim.store.state.shipments if r.booking.reference == f"{repair_id}-in"]
    assert pickup.cancelled_at is not None and shipment.voided_at is not None
    assert (await _intents(service, repair_id))[f"{repair_id}-in-p1-x"][0] == "done"


async def _died_after_chaining(service: Service, case_id: str) -> dict[str, Any]:
    """What a process that died after chaining leaves: a shipment and a pickup at the carrier; in the service
    only the shipment's intent, attempted once, and no pickup intent."""
    sim = _sim(service)
    fault = FaultStep(operation="create_shipment", kind="http_error", status=503, after_apply=True)
    sim.faults.extend([fault])
    repair = await _create(service, case_id)
    slot = repair["inbound"]["pickup"]
    await sim.schedule_pickup(
        carrier_requests.pickup_request(
            f"{repair['id']}-in-p1",
            SiteAddress.model_validate(PARIS_SITE),
            (carrier_requests.parcel_for("notebook"),),
            Slot.model_validate(slot),
            ("1ZPREVIOUS01",),
        )
    )
    return repair


async def test_a_pickup_chained_before_a_crash_is_cancelled_when_the_repair_was_cancelled(service: Service) -> None:
    repair = await _died_after_chaining(service, "C-CHAIN-6")
    status, _, _ = await service.call("POST", f"/v1/repairs/{repair['id']}/cancel", json={"reason": "fixed"})
    assert status == 200
    service.clock.advance(minutes=15)
    await service.services.bookings.run_due()  # the shipment is taken over, found, voided; the sweep queued
    await service.services.bookings.run_due()  # the sweep finds the chained pickup and cancels it
    sim = _sim(service)
    (pickup,) = [r for r in sim.store.state.pickups if r.booking.reference == f"{repair['id']}-in-p1"]
    assert pickup.cancelled_at is not None
    assert (await _intents(service, repair["id"]))[f"{repair['id']}-in-p1-sweep"][0] == "done"


async def test_a_pickup_chained_before_a_crash_is_cancelled_when_the_repair_was_rescheduled(service: Service) -> None:
    repair = await _died_after_chaining(service, "C-CHAIN-7")
    status, _, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200
    service.clock.advance(minutes=15)
    await service.services.bookings.run_due()
    await service.services.bookings.run_due()
    live = [r.booking.reference for r in _sim(service).store.state.pickups if r.cancelled_at is None]
    assert live == [f"{repair['id']}-in-p2"]


async def test_no_chaining_when_the_lease_could_run_out_during_the_pickup_call(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"call_policy": {"max_attempts": 1, "deadline_s": 60}, "booking_lease_s": 61}
    async with running_service(tmp_path, clock, **settings) as service:
        bookings = service.services.bookings
        chained: list[str] = []
        real = bookings._chain_pickup

        async def spy(*args: Any) -> Any:
            chained.append(args[1].reference)
            return await real(*args)

        monkeypatch.setattr(bookings, "_chain_pickup", spy)
        sim = _sim(service)
        sim.faults.extend([FaultStep(operation="create_shipment", kind="latency", delay_s=0.2)])

        async def time_passes() -> None:
            await asyncio.sleep(0.1)
            clock.advance(seconds=5)  # 56 s of lease left: less than a call may take

        _, (status, created, _) = await asyncio.gather(
            time_passes(), service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-CHAIN-8"))
        )
        assert status == 201 and chained == []
        repair_id = created["repair"]["id"]
        assert len(sim.pickups_for(f"{repair_id}-in-p1")) == 1  # booked as a follow-up, recorded first
        await _create(service, "C-CHAIN-9")
        assert len(chained) == 1  # with the lease whole, the pickup is chained


async def test_a_cancelled_repair_whose_shipment_awaits_a_retry_books_nothing(service: Service) -> None:
    sim = _sim(service)
    sim.faults.extend([FaultStep(operation="create_shipment", kind="refused")])  # nothing reached the carrier
    repair = await _create(service, "C-CHAIN-CXL-1")
    reference = f"{repair['id']}-in"
    assert (await _intents(service, repair["id"]))[reference][:2] == ("pending", 1)
    service.clock.advance(minutes=15)  # the retry is due; the cancel runs what is due inline
    status, cancelled, _ = await service.call("POST", f"/v1/repairs/{repair['id']}/cancel", json={})
    assert status == 200 and cancelled["state"] == "cancelled"
    service.clock.advance(hours=1)
    await service.services.bookings.run_due()
    assert sim.shipments_for(reference) == []
    assert [r.booking.reference for r in sim.store.state.pickups] == []
    assert (await _intents(service, repair["id"]))[reference][0] == "cancelled"


async def test_a_cancelled_repair_whose_shipment_was_booked_unseen_gets_it_voided(service: Service) -> None:
    sim = _sim(service)
    # The carrier books the shipment, then answers 503: the service does not know it holds one.
    sim.faults.extend([FaultStep(operation="create_shipment", kind="http_error", status=503, after_apply=True)])
    repair = await _create(service, "C-CHAIN-CXL-2")
    reference = f"{repair['id']}-in"
    status, _, _ = await service.call("POST", f"/v1/repairs/{repair['id']}/cancel", json={})
    assert status == 200
    service.clock.advance(hours=1)
    while await service.services.bookings.run_due():
        pass  # the retry finds the shipment; its void follows
    (shipment,) = [r for r in sim.store.state.shipments if r.booking.reference == reference]
    assert shipment.voided_at is not None  # and it is the only one made under that reference
    assert [r.booking.reference for r in sim.store.state.pickups] == []  # no pickup for a cancelled repair


async def test_a_pickup_awaiting_a_retry_when_rescheduled_is_not_booked(service: Service) -> None:
    sim = _sim(service)
    sim.faults.extend([FaultStep(operation="schedule_pickup", kind="refused")])  # nothing reached the carrier
    repair = await _create(service, "C-CHAIN-RS-1")
    first = f"{repair['id']}-in-p1"
    assert (await _intents(service, repair["id"]))[first][:2] == ("pending", 1)
    later = date.fromisoformat(repair["inbound"]["pickup"]["local_date"]) + timedelta(days=7)
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": later.isoformat()}
    )
    assert status == 200, moved
    service.clock.advance(hours=1)
    while await service.services.bookings.run_due():
        pass
    assert sim.pickups_for(first) == []  # the old slot's pickup was never booked
    assert (await _intents(service, repair["id"]))[first][0] == "cancelled"
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["inbound"]["pickup_confirmation"] is not None  # the new slot's pickup was
