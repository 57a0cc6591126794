"""Every journey end to end over real HTTP, on every carrier: the simulator, UPS and DHL Express.

UPS and DHL Express run their real adapters against fake carrier servers that check every request against
the carrier's official API description and answer with labels as the carrier issues them (a UPS GIF, a
DHL PDF), binary. Each label of each leg is downloaded in both formats, by the case system's route and by
the customer's link, and read as a scanner would: its first page carries the carrier's tracking number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.barcodes import decode_pages
from tests.support.carriers import CARRIERS, CarrierDriver, carrier_service
from tests.support.clock import ManualClock
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request

LINEAR = ("Code128", "Code39")  # a carrier's tracking barcode: Code 128, or DHL's waybill in Code 39
MATRIX = ("DataMatrix", "QRCode")


@pytest.fixture(params=CARRIERS)
async def carrier(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> AsyncIterator[CarrierDriver]:
    async with carrier_service(request.param, tmp_path, clock) as driver:
        yield driver


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


async def _label_pages(carrier: CarrierDriver, path: str, who: str | None) -> list[list[tuple[str, str]]]:
    status, pdf, response = await carrier.service.call("GET", path, who)
    assert status == 200, pdf
    assert response.content_type == "application/pdf" and pdf.startswith(b"%PDF")
    return decode_pages(pdf)


async def _every_label(carrier: CarrierDriver, number: str, routes: list[tuple[str, str | None]]) -> str:
    """Download the leg's label by each route in both formats; each scans to ``number`` on page 1.
    Returns the label's 2D intake payload."""
    payloads = set()
    for path, who in routes:
        for page_format in ("a4", "4x6"):
            separator = "&" if "?" in path else "?"
            pages = await _label_pages(carrier, f"{path}{separator}format={page_format}", who)
            first = pages[0]
            assert any(fmt in LINEAR and text == number for fmt, text in first), (carrier.name, page_format, first)
            payloads |= {text for page in pages for fmt, text in page if fmt in MATRIX}
    assert len(payloads) == 1, payloads
    return payloads.pop()


async def _walk_back(carrier: CarrierDriver, repair: dict[str, Any], scan_payload: str) -> list[dict[str, Any]]:
    service = carrier.service
    centre = repair["centre_id"]
    service.clock.advance(hours=20)
    status, received, _ = await service.call(
        "POST",
        f"/v1/centres/{centre}/receipts",
        centre,
        json={"scan": scan_payload, "items_received": ["ac_adapter"]},
    )
    assert status == 200, received
    assert received["state"] == "at_centre" and received["custodian"] == "repair_centre"

    service.clock.advance(days=2)
    status, dispatched, _ = await service.call(
        "POST",
        f"/v1/centres/{centre}/dispatches",
        centre,
        json={"repair_id": repair["id"], "outcome": "replaced", "replacement_serial": "5CG9999NEW"},
    )
    assert status == 201, dispatched
    outbound = dispatched["repair"]["outbound"]
    number = outbound["tracking_number"]
    assert number and outbound["carrier"] == carrier.name
    assert dispatched["repair"]["replacement_serial"] == "5CG9999NEW"
    await _every_label(
        carrier,
        number,
        [
            (_path(dispatched["label"]["url"]), None),
            (f"/v1/centres/{centre}/repairs/{repair['id']}/labels/outbound", centre),
            (f"/v1/repairs/{repair['id']}/labels/outbound", "case_system"),
        ],
    )

    service.clock.advance(hours=3)
    await carrier.report(number, "picked_up", service.clock.now(), "Lyon")
    status, moving, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert moving["state"] == "in_transit_to_customer"
    service.clock.advance(days=1)
    await carrier.report(number, "delivered", service.clock.now(), "Paris")
    status, done, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert done["state"] == "delivered" and done["outbound"]["status"] == "delivered"
    status, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    assert status == 200
    return list(history["items"])


def _state_path(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["to_state"], e["actor"]) for e in history if e["kind"] in ("created", "state_changed")]


async def test_courier_pickup_journey(carrier: CarrierDriver) -> None:
    service = carrier.service
    status, created, response = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-1001"))
    assert status == 201, created
    repair = created["repair"]
    assert response.headers["Location"] == f"/v1/repairs/{repair['id']}"
    assert repair["state"] == "awaiting_pickup" and repair["inbound"]["method"] == "courier_pickup"
    assert repair["inbound"]["carrier"] == carrier.name
    assert repair["inbound"]["status"] == "pickup_scheduled" and repair["inbound"]["pickup_confirmation"]
    pickup = created["pickup"]
    assert pickup["time_zone"] == "Europe/Paris" and pickup["local_date"] > "2026-03-02"

    number = repair["inbound"]["tracking_number"]
    payload = await _every_label(
        carrier,
        number,
        [
            (_path(created["customer_label"]["url"]), None),
            (f"/v1/repairs/{repair['id']}/labels/inbound", "case_system"),
        ],
    )
    service.clock.advance(days=1, hours=2)
    picked_up_at = service.clock.now()
    await carrier.report(number, "picked_up", picked_up_at, "Paris")
    status, moving, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert moving["state"] == "in_transit_to_centre" and moving["custodian"] == "carrier"
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    scanned = [e for e in history["items"] if e["kind"] == "leg_status" and e["status"] == "picked_up"]
    assert [datetime.fromisoformat(e["occurred_at"]) for e in scanned] == [picked_up_at]  # the carrier's instant

    history = await _walk_back(carrier, repair, payload)
    assert _state_path(history) == [
        ("awaiting_pickup", "case_system"),
        ("in_transit_to_centre", "carrier"),
        ("at_centre", "repair_centre"),
        ("in_transit_to_customer", "carrier"),
        ("delivered", "carrier"),
    ]
    seqs = [e["seq"] for e in history]
    assert seqs == sorted(seqs) == list(range(1, len(seqs) + 1))
    occurred = [e["occurred_at"] for e in history]
    assert occurred == sorted(occurred)
    if carrier.name != "sim":
        assert carrier.shipments(f"{repair['id']}-in") == 1 and carrier.shipments(f"{repair['id']}-out") == 1


async def test_self_shipment_journey(carrier: CarrierDriver) -> None:
    service = carrier.service
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-1002"))
    assert status == 201, created
    repair = created["repair"]
    assert repair["state"] == "awaiting_drop_off" and repair["inbound"]["method"] == "customer_drop_off"
    assert created["pickup"] is None and repair["inbound"]["status"] == "label_created"

    number = repair["inbound"]["tracking_number"]
    payload = await _every_label(
        carrier,
        number,
        [
            (_path(created["customer_label"]["url"]), None),
            (f"/v1/repairs/{repair['id']}/labels/inbound", "case_system"),
        ],
    )
    service.clock.advance(hours=5)
    await carrier.report(number, "dropped_off", service.clock.now(), "Ajaccio")
    service.clock.advance(days=1)
    await carrier.report(number, "in_transit", service.clock.now(), "Marseille")

    history = await _walk_back(carrier, repair, payload)
    assert _state_path(history) == [
        ("awaiting_drop_off", "case_system"),
        ("in_transit_to_centre", "carrier"),
        ("at_centre", "repair_centre"),
        ("in_transit_to_customer", "carrier"),
        ("delivered", "carrier"),
    ]
    status, custody, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/custody")
    holders = [row["holder"] for row in custody["items"]]
    assert holders == ["customer", "carrier", "carrier", "repair_centre", "carrier", "customer"]
    assert [row["at"] for row in custody["items"]] == sorted(row["at"] for row in custody["items"])
    assert all(row["local_time"] for row in custody["items"])


async def test_cancel_before_pickup_cancels_it_at_the_carrier(carrier: CarrierDriver) -> None:
    service = carrier.service
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-1003"))
    repair_id = created["repair"]["id"]
    assert len(carrier.live_pickups(f"{repair_id}-in-p1")) == 1
    status, cancelled, _ = await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"})
    assert status == 200 and cancelled["state"] == "cancelled"
    await service.services.bookings.run_due()
    assert carrier.live_pickups(f"{repair_id}-in-p1") == []
    status, _, _ = await service.call("GET", _path(created["customer_label"]["url"]), None)
    assert status == 404  # the customer's link is revoked with the repair


async def test_reschedule_moves_the_pickup_at_the_carrier(carrier: CarrierDriver) -> None:
    service = carrier.service
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-1004"))
    repair = created["repair"]
    first = created["pickup"]["local_date"]
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200, moved
    assert moved["pickup"]["local_date"] == "2026-03-10" != first
    assert moved["repair"]["inbound"]["status"] == "pickup_scheduled"
    await service.services.bookings.run_due()
    assert carrier.live_pickups(f"{repair['id']}-in-p1") == []
    assert len(carrier.live_pickups(f"{repair['id']}-in-p2")) == 1
    # The label is the same shipment's: it still scans to the leg's number.
    await _every_label(
        carrier, repair["inbound"]["tracking_number"], [(f"/v1/repairs/{repair['id']}/labels/inbound", "case_system")]
    )
