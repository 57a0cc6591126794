"""Both journeys end to end over real HTTP: courier pickup and self-shipment, to the centre and back."""

from __future__ import annotations

from typing import Any

from tests.support.barcodes import decode_pdf
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, push, repair_request, scan
from tests.support.service import Service


async def _customer_scan_payload(service: Service, label_url: str) -> str:
    path = label_url.removeprefix("http://127.0.0.1:8080")
    status, pdf, response = await service.call("GET", path, None)
    assert status == 200 and response.content_type == "application/pdf"
    codes = dict(decode_pdf(pdf))
    return next(text for fmt, text in codes.items() if fmt in ("DataMatrix", "QRCode"))


async def _walk_back(service: Service, repair: dict[str, Any], scan_payload: str) -> list[dict[str, Any]]:
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
    assert outbound["tracking_number"] and dispatched["label"]["url"].startswith("http://127.0.0.1:8080/v1/labels/")
    assert dispatched["repair"]["replacement_serial"] == "5CG9999NEW"

    number = outbound["tracking_number"]
    service.clock.advance(hours=3)
    assert (await push(service, [scan(number, "PU", service.clock.now(), "Lyon")]))[0] == 202
    status, moving, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert moving["state"] == "in_transit_to_customer"
    service.clock.advance(days=1)
    assert (await push(service, [scan(number, "DL", service.clock.now(), "Paris")]))[0] == 202
    status, done, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert done["state"] == "delivered" and done["outbound"]["status"] == "delivered"
    status, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    assert status == 200
    return list(history["items"])


def _state_path(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["to_state"], e["actor"]) for e in history if e["kind"] in ("created", "state_changed")]


async def test_courier_pickup_journey(service: Service) -> None:
    status, created, response = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-1001"))
    assert status == 201, created
    repair = created["repair"]
    assert response.headers["Location"] == f"/v1/repairs/{repair['id']}"
    assert repair["state"] == "awaiting_pickup" and repair["inbound"]["method"] == "courier_pickup"
    assert repair["inbound"]["status"] == "pickup_scheduled" and repair["inbound"]["pickup_confirmation"]
    pickup = created["pickup"]
    assert pickup["time_zone"] == "Europe/Paris" and pickup["local_date"] > "2026-03-02"

    payload = await _customer_scan_payload(service, created["customer_label"]["url"])
    number = repair["inbound"]["tracking_number"]
    service.clock.advance(days=1, hours=2)
    assert (await push(service, [scan(number, "PU", service.clock.now(), "Paris")]))[0] == 202
    status, moving, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert moving["state"] == "in_transit_to_centre" and moving["custodian"] == "carrier"

    history = await _walk_back(service, repair, payload)
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


async def test_self_shipment_journey(service: Service) -> None:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-1002"))
    assert status == 201, created
    repair = created["repair"]
    assert repair["state"] == "awaiting_drop_off" and repair["inbound"]["method"] == "customer_drop_off"
    assert created["pickup"] is None and repair["inbound"]["status"] == "label_created"

    payload = await _customer_scan_payload(service, created["customer_label"]["url"])
    number = repair["inbound"]["tracking_number"]
    service.clock.advance(hours=5)
    assert (await push(service, [scan(number, "DO", service.clock.now(), "Ajaccio relay")]))[0] == 202
    service.clock.advance(days=1)
    assert (await push(service, [scan(number, "IT", service.clock.now(), "Marseille")]))[0] == 202

    history = await _walk_back(service, repair, payload)
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
