"""The booking outbox's vocabulary: an operation this release does not know fails its booking at once instead
of being retried forever, and the references follow one grammar."""

from __future__ import annotations

import dataclasses

from logistics.domain.journey import LegDirection
from logistics.domain.references import (
    cancellation_reference,
    leg_reference,
    pickup_reference,
    sweep_reference,
    void_reference,
)
from logistics.services.bookings import UNKNOWN_OPERATION
from logistics.services.outbox import IntentStatus, Operation, new_intent
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service


async def test_an_unknown_operation_fails_its_booking_and_is_not_retried(service: Service) -> None:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-UNKNOWN-OP"))
    assert status == 201, created
    repair_id = created["repair"]["id"]
    reference = f"{repair_id}-teleport"
    known = new_intent(
        reference, repair_id, LegDirection.INBOUND, Operation.VOID_SHIPMENT, "sim", {}, service.clock.now()
    )
    async with service.services.store.transaction() as tx:
        await tx.add_intent(dataclasses.replace(known, operation="teleport_parcel"))

    assert await service.services.bookings.run_due() == 1
    (intent,) = [i for i in await service.services.store.reader().intents_for(repair_id) if i.reference == reference]
    assert intent.status == IntentStatus.FAILED
    assert intent.last_error is not None and intent.last_error.startswith(f"{UNKNOWN_OPERATION}: 'teleport_parcel'")
    service.clock.advance(hours=1)
    assert await service.services.bookings.run_due() == 0  # failed for good: nothing left to attempt
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["inbound"]["booking"] == "booked"  # the leg's own bookings are untouched


def test_the_reference_grammar_is_the_one_the_carriers_were_given() -> None:
    inbound = leg_reference("rp_1", LegDirection.INBOUND)
    assert (inbound, leg_reference("rp_1", LegDirection.OUTBOUND)) == ("rp_1-in", "rp_1-out")
    assert pickup_reference(inbound, 2) == "rp_1-in-p2"
    assert cancellation_reference("rp_1-in-p2") == "rp_1-in-p2-x"
    assert void_reference(inbound) == "rp_1-in-v"
    assert sweep_reference("rp_1-in-p1") == "rp_1-in-p1-sweep"
