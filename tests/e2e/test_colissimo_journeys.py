"""The French journeys with Colissimo, end to end over real HTTP: the service runs with the sample coverage
and the Colissimo adapter, talking to the fake SLS and Suivi servers.

A Lyon customer ships the device with a Colissimo return label; a Quimper customer (Brittany) has it taken
from the letterbox. In both the customer's label downloads, its barcode reads the Colissimo parcel number,
tracking comes from La Poste by polling, and the repair centre takes it from there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from carriers.colissimo.mapping import is_valid_colissimo_number
from tests.fakes.colissimo_server import FakeColissimoServer, load_spec, spec_path
from tests.support.barcodes import decode_pdf
from tests.support.clock import ManualClock
from tests.support.journeys import repair_request
from tests.support.service import Service, running_service

LYON_SITE = {
    "name": "Camille Martin",
    "street_lines": ["12 rue de la République"],
    "city": "Lyon",
    "postal_code": "69002",
    "country": "FR",
    "phone": "+33 4 78 00 00 00",
    "email": "camille@example.org",
}
QUIMPER_SITE = {
    "name": "Yann Le Goff",
    "street_lines": ["5 rue Kéréon"],
    "city": "Quimper",
    "postal_code": "29000",
    "country": "FR",
    "phone": "+33 2 98 00 00 00",
}


@pytest.fixture
async def fake_colissimo(clock: ManualClock) -> AsyncIterator[FakeColissimoServer]:
    if not spec_path().is_file():
        pytest.skip("Colissimo's SLS description is missing")
    server = FakeColissimoServer(load_spec(), clock=clock.now)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.violations == [], server.violations


@pytest.fixture
async def french_service(
    tmp_path: Path, clock: ManualClock, fake_colissimo: FakeColissimoServer
) -> AsyncIterator[Service]:
    colissimo = {
        "base_url": fake_colissimo.sls_url,
        "tracking_base_url": fake_colissimo.suivi_url,
        "api_key": fake_colissimo.api_key,
        "okapi_key": fake_colissimo.okapi_key,
    }
    async with running_service(tmp_path, clock, carriers={"sim": {}, "colissimo": colissimo}) as service:
        yield service


async def _label_codes(service: Service, url: str, *query: str) -> list[tuple[str, str]]:
    path = url.removeprefix("http://127.0.0.1:8080") + "".join(query)
    status, pdf, response = await service.call("GET", path, None)
    assert status == 200 and response.content_type == "application/pdf"
    return decode_pdf(pdf)


async def _state(service: Service, repair_id: str) -> dict[str, Any]:
    status, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert status == 200
    return dict(repair)


async def _receive_at_centre(service: Service, repair: dict[str, Any], codes: list[tuple[str, str]]) -> None:
    payload = next(text for fmt, text in codes if fmt in ("DataMatrix", "QRCode"))
    status, received, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"scan": payload, "items_received": ["ac_adapter"]}
    )
    assert status == 200, received
    assert received["state"] == "at_centre"


async def test_self_shipment_with_a_colissimo_return_label(
    french_service: Service, fake_colissimo: FakeColissimoServer, clock: ManualClock
) -> None:
    service = french_service
    request = repair_request(LYON_SITE, "C-FR-1", service_level="customer_ship")
    status, created, _ = await service.call("POST", "/v1/repairs", json=request)
    assert status == 201, created
    repair = created["repair"]
    inbound = repair["inbound"]
    assert repair["state"] == "awaiting_drop_off" and inbound["carrier"] == "colissimo"
    number = inbound["tracking_number"]
    assert is_valid_colissimo_number(number) and number.startswith("8R")
    (label,) = fake_colissimo.by_order[f"{repair['id']}-in"]  # our reference, kept by Colissimo
    assert label.number == number and label.product == "CORE"

    for size in ("", "?format=4x6"):
        codes = await _label_codes(service, created["customer_label"]["url"], size)
        assert ("Code128", number) in codes, codes

    clock.advance(hours=6)
    fake_colissimo.scan(number, "PC1", clock.now() - timedelta(hours=1), "Déposé en bureau de poste")
    assert await service.services.poller.poll_due() >= 1
    moving = await _state(service, repair["id"])
    assert moving["state"] == "in_transit_to_centre"
    assert moving["inbound"]["status"] == "dropped_off"
    clock.advance(days=1)
    fake_colissimo.scan(number, "ET1", clock.now() - timedelta(hours=12))
    fake_colissimo.scan(number, "DI1", clock.now() - timedelta(hours=1))
    await service.services.poller.poll_due()
    delivered = await _state(service, repair["id"])
    assert delivered["inbound"]["status"] == "delivered"

    await _receive_at_centre(service, repair, codes)
    status, custody, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/custody")
    scans = [(row["raw_code"], row["what"]) for row in custody["items"] if row["raw_code"]]
    # La Poste's own codes are kept beside the normalised statuses.
    assert scans == [("PC1", "dropped_off"), ("ET1", "in_transit"), ("DI1", "delivered")]


async def test_letterbox_pickup_in_brittany(
    french_service: Service, fake_colissimo: FakeColissimoServer, clock: ManualClock
) -> None:
    service = french_service
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(QUIMPER_SITE, "C-FR-2"))
    assert status == 201, created
    repair = created["repair"]
    inbound = repair["inbound"]
    assert repair["state"] == "awaiting_pickup" and inbound["method"] == "courier_pickup"
    assert inbound["carrier"] == "colissimo" and repair["region_id"] == "fr-bretagne"
    number = inbound["tracking_number"]
    # Monday 09:00 in Paris, before the 20:00 cut-off: La Poste empties the letterbox on Tuesday morning.
    assert created["pickup"]["local_date"] == "2026-03-03"
    assert (created["pickup"]["ready_time"], created["pickup"]["close_time"]) == ("08:00:00", "13:00:00")
    assert inbound["status"] == "pickup_scheduled" and inbound["pickup_confirmation"] == number
    assert fake_colissimo.pickups[number].day == date(2026, 3, 3)
    assert fake_colissimo.pickups[number].sender["zipCode"] == "29000"

    codes = await _label_codes(service, created["customer_label"]["url"])
    assert ("Code128", number) in codes, codes

    clock.advance(days=1, hours=2)
    fake_colissimo.scan(number, "PC1", clock.now() - timedelta(hours=1))
    assert await service.services.poller.poll_due() >= 1
    moving = await _state(service, repair["id"])
    assert moving["state"] == "in_transit_to_centre"
    assert moving["inbound"]["status"] == "picked_up"  # we booked the pickup: the first scan is the collection
    clock.advance(days=1)
    fake_colissimo.scan(number, "DI1", clock.now() - timedelta(hours=1))
    await service.services.poller.poll_due()
    await _receive_at_centre(service, repair, codes)


async def test_without_colissimo_keys_the_french_label_is_flagged_not_lost(service: Service) -> None:
    # The development default: Colissimo enabled without keys. The repair is kept; its booking is refused
    # before anything is sent and flagged for a person, with the reason.
    request = repair_request(LYON_SITE, "C-FR-3", service_level="customer_ship")
    status, created, _ = await service.call("POST", "/v1/repairs", json=request)
    assert status == 202, created  # accepted: the booking did not land
    repair = await _state(service, created["repair"]["id"])
    assert repair["inbound"]["carrier"] == "colissimo" and repair["inbound"]["tracking_number"] is None
    (flag,) = [f for f in repair["flags"] if f["code"] == "booking.failed"]
    assert "Colissimo is not configured" in flag["reason"]


async def test_a_letterbox_pickup_moved_to_another_day_is_the_same_parcel_on_the_new_day(
    french_service: Service, fake_colissimo: FakeColissimoServer
) -> None:
    service = french_service
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(QUIMPER_SITE, "C-FR-4"))
    repair = created["repair"]
    number = repair["inbound"]["tracking_number"]
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": "2026-03-05"}
    )
    assert status == 200, moved
    assert moved["pickup"]["local_date"] == "2026-03-05"
    assert moved["repair"]["inbound"]["status"] == "pickup_scheduled"
    # La Poste holds one pickup per parcel: planning it again moved it; no second label, no second pickup.
    assert list(fake_colissimo.pickups) == [number]
    assert fake_colissimo.pickups[number].day == date(2026, 3, 5)
    assert fake_colissimo.label_count(f"{repair['id']}-in") == 1
