"""Two repairs at one address on one date share UPS's pickup number (PRN): the courier is cancelled at UPS
only when the last repair waiting for it no longer needs it, by a cancellation or a reschedule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.carriers import CarrierDriver, carrier_service
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request


@pytest.fixture
async def ups(tmp_path: Path, clock: ManualClock) -> AsyncIterator[CarrierDriver]:
    async with carrier_service("ups", tmp_path, clock) as driver:
        yield driver


async def _two_repairs_one_courier(ups: CarrierDriver) -> tuple[dict[str, Any], dict[str, Any], str]:
    repairs = []
    for case in ("C-SHARE-1", "C-SHARE-2"):
        status, created, _ = await ups.service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, case))
        assert status == 201, created
        repairs.append(created)
    first, second = repairs
    prn = first["repair"]["inbound"]["pickup_confirmation"]
    assert prn == second["repair"]["inbound"]["pickup_confirmation"]  # UPS: same address, same date, same PRN
    assert first["pickup"]["local_date"] == second["pickup"]["local_date"]
    return first["repair"], second["repair"], prn


def _prn_live(ups: CarrierDriver, prn: str) -> bool:
    assert ups.ups is not None
    return not ups.ups.pickups[prn].cancelled


async def test_cancelling_one_repair_keeps_the_shared_pickup_and_the_last_cancels_it_once(ups: CarrierDriver) -> None:
    first, second, prn = await _two_repairs_one_courier(ups)
    assert ups.ups is not None
    status, _, _ = await ups.service.call("POST", f"/v1/repairs/{first['id']}/cancel", json={"reason": "fixed"})
    assert status == 200
    await ups.service.services.bookings.run_due()
    assert _prn_live(ups, prn) and ups.ups.calls["cancel_pickup"] == 0
    _, other, _ = await ups.service.call("GET", f"/v1/repairs/{second['id']}")
    assert other["inbound"]["status"] == "pickup_scheduled" and other["inbound"]["pickup_confirmation"] == prn

    status, _, _ = await ups.service.call("POST", f"/v1/repairs/{second['id']}/cancel", json={"reason": "fixed"})
    assert status == 200
    await ups.service.services.bookings.run_due()
    assert not _prn_live(ups, prn) and ups.ups.calls["cancel_pickup"] == 1


async def test_rescheduling_one_repair_keeps_the_shared_pickup_for_the_other(ups: CarrierDriver) -> None:
    first, second, prn = await _two_repairs_one_courier(ups)
    assert ups.ups is not None
    status, moved, _ = await ups.service.call(
        "POST", f"/v1/repairs/{first['id']}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200, moved
    await ups.service.services.bookings.run_due()
    assert moved["repair"]["inbound"]["pickup_confirmation"] != prn  # another date: another courier
    assert _prn_live(ups, prn) and ups.ups.calls["cancel_pickup"] == 0

    status, _, _ = await ups.service.call("POST", f"/v1/repairs/{second['id']}/cancel", json={"reason": "fixed"})
    assert status == 200
    await ups.service.services.bookings.run_due()
    assert not _prn_live(ups, prn) and ups.ups.calls["cancel_pickup"] == 1
