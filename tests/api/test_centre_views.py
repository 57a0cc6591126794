"""A repair centre's lists: which devices it expects, holds and has dispatched, at each step of a journey."""

from __future__ import annotations

from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.service import Service

VIEWS = ("expected", "at_centre", "dispatched")


async def _views(service: Service, centre: str) -> dict[str, list[str]]:
    found = {}
    for view in VIEWS:
        status, page, _ = await service.call("GET", f"/v1/centres/{centre}/repairs", centre, params={"view": view})
        assert status == 200, page
        found[view] = [repair["id"] for repair in page["items"]]
    return found


def _listed_in(views: dict[str, list[str]], repair_id: str) -> list[str]:
    return [view for view, ids in views.items() if repair_id in ids]


async def test_each_device_is_in_one_view_of_its_centre_from_creation_to_delivery(service: Service) -> None:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "CV-1"))
    assert status == 201, created
    repair = created["repair"]
    repair_id, centre, number = repair["id"], repair["centre_id"], repair["inbound"]["tracking_number"]
    assert _listed_in(await _views(service, centre), repair_id) == ["expected"]

    service.clock.advance(days=1, hours=2)
    assert (await push(service, [scan(number, "PU", service.clock.now(), "Paris")]))[0] == 202
    assert _listed_in(await _views(service, centre), repair_id) == ["expected"]  # in transit to the centre

    service.clock.advance(hours=20)
    status, received, _ = await service.call(
        "POST", f"/v1/centres/{centre}/receipts", centre, json={"repair_id": repair_id, "items_received": []}
    )
    assert status == 200, received
    assert _listed_in(await _views(service, centre), repair_id) == ["at_centre"]

    service.clock.advance(days=2)
    status, dispatched, _ = await service.call(
        "POST", f"/v1/centres/{centre}/dispatches", centre, json={"repair_id": repair_id, "outcome": "repaired"}
    )
    assert status == 201, dispatched
    # Still physically at the centre until the carrier collects it, but no longer the centre's to dispatch.
    assert dispatched["repair"]["state"] == "at_centre"
    assert _listed_in(await _views(service, centre), repair_id) == ["dispatched"]

    outbound = dispatched["repair"]["outbound"]["tracking_number"]
    service.clock.advance(hours=3)
    assert (await push(service, [scan(outbound, "PU", service.clock.now(), "Lyon")]))[0] == 202
    assert _listed_in(await _views(service, centre), repair_id) == ["dispatched"]
    service.clock.advance(days=1)
    assert (await push(service, [scan(outbound, "DL", service.clock.now(), "Paris")]))[0] == 202
    assert _listed_in(await _views(service, centre), repair_id) == ["dispatched"]

    other = "de-frankfurt" if centre != "de-frankfurt" else "es-madrid"
    assert _listed_in(await _views(service, other), repair_id) == []


async def test_a_received_device_stays_at_the_centre_beside_one_already_dispatched(service: Service) -> None:
    ids = []
    for case in ("CV-2", "CV-3"):
        status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, case))
        assert status == 201, created
        ids.append(created["repair"]["id"])
        centre = created["repair"]["centre_id"]
    for repair_id in ids:
        status, body, _ = await service.call(
            "POST", f"/v1/centres/{centre}/receipts", centre, json={"repair_id": repair_id, "items_received": []}
        )
        assert status == 200, body
    status, body, _ = await service.call(
        "POST", f"/v1/centres/{centre}/dispatches", centre, json={"repair_id": ids[0], "outcome": "repaired"}
    )
    assert status == 201, body
    views = await _views(service, centre)
    assert views["at_centre"] == [ids[1]] and views["dispatched"] == [ids[0]] and views["expected"] == []
