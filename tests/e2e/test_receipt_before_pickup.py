"""A device received at the centre while its courier pickup is still booked (the customer brought it, or
another carrier delivered it): the pickup is cancelled at the carrier, or flagged if the carrier refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.ups_server import Fault
from tests.support.carriers import CARRIERS, CarrierDriver, carrier_service
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request


@pytest.fixture(params=CARRIERS)
async def carrier(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> AsyncIterator[CarrierDriver]:
    async with carrier_service(request.param, tmp_path, clock) as driver:
        yield driver


async def _received_before_pickup(carrier: CarrierDriver) -> tuple[str, dict[str, object]]:
    service = carrier.service
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WALKIN"))
    repair = created["repair"]
    assert repair["state"] == "awaiting_pickup" and len(carrier.live_pickups(f"{repair['id']}-in-p1")) == 1
    service.clock.advance(hours=3)
    status, received, _ = await service.call(
        "POST",
        f"/v1/centres/{repair['centre_id']}/receipts",
        repair["centre_id"],
        json={"tracking_number": repair["inbound"]["tracking_number"], "items_received": ["ac_adapter"]},
    )
    assert status == 200 and received["state"] == "at_centre", received
    return str(repair["id"]), received


async def test_a_receipt_before_the_courier_came_cancels_the_pickup(carrier: CarrierDriver) -> None:
    repair_id, _ = await _received_before_pickup(carrier)
    assert carrier.live_pickups(f"{repair_id}-in-p1") == []
    _, repair, _ = await carrier.service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["flags"] == []


async def test_a_pickup_the_carrier_will_not_cancel_is_flagged(tmp_path: Path, clock: ManualClock) -> None:
    async with carrier_service("ups", tmp_path, clock) as carrier:
        assert carrier.ups is not None
        carrier.ups.inject("cancel_pickup", Fault("reject", code="9510131", message="Pickup cannot be cancelled"))
        repair_id, _ = await _received_before_pickup(carrier)
        _, repair, _ = await carrier.service.call("GET", f"/v1/repairs/{repair_id}")
        assert [flag["code"] for flag in repair["flags"]] == ["pickup.not_cancelled"]
        assert repair["state"] == "at_centre"
