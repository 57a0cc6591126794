"""A create whose carrier is slow answers within the booking budget, with the booking pending; the booking
goes on in the background and lands once, as if the carrier had answered at once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import running_service

SLOW_SHIPMENT = {"faults": [{"operation": "create_shipment", "kind": "latency", "delay_s": 2.0}]}


async def test_a_slow_carrier_answers_pending_within_the_budget_and_books_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_service(
        tmp_path, clock, booking_budget_s=0.15, carriers={"sim": SLOW_SHIPMENT, "colissimo": {}}
    ) as service:
        started = time.monotonic()
        status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-SLOW"))
        assert time.monotonic() - started < 1.5  # the case system is not held by the 2 s carrier call
        assert status == 202 and created["repair"]["inbound"]["booking"] == "pending"
        assert created["customer_label"]["url"]  # the link is given at once; the label follows the booking
        repair_id = created["repair"]["id"]

        await service.services.bookings.drain()  # the booking, still running, lands
        status, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
        assert repair["inbound"]["booking"] == "booked" and repair["inbound"]["status"] == "pickup_scheduled"
        assert await service.services.bookings.run_due() == 0  # nothing left for the worker
        _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
        assert [e["kind"] for e in history["items"]].count("booking") == 2  # the shipment and its pickup, once


async def test_a_prompt_carrier_is_answered_in_the_request(tmp_path: Path, clock: ManualClock) -> None:
    async with running_service(tmp_path, clock, booking_budget_s=5.0) as service:
        status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-FAST"))
        assert status == 201 and created["repair"]["inbound"]["booking"] == "booked"
