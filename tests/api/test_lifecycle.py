"""Cancel and reschedule: what the carrier is told, what is refused, and that refusals change nothing."""

from __future__ import annotations

from carriers.resilience import ResilientCarrier
from carriers.sim.adapter import SimCarrier
from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.service import Service
from tests.support.snapshot import database_digest


def _sim(service: Service) -> SimCarrier:
    wrapped = service.services.carriers["sim"]
    assert isinstance(wrapped, ResilientCarrier) and isinstance(wrapped.adapter, SimCarrier)
    return wrapped.adapter


async def test_cancel_cancels_the_pickup_and_voids_the_label(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-CANCEL-1"))
    repair_id = created["repair"]["id"]
    status, cancelled, _ = await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"})
    assert status == 200 and cancelled["state"] == "cancelled"
    sim = _sim(service)
    pickups = [r for r in sim.store.state.pickups if r.booking.reference == f"{repair_id}-in-p1"]
    shipments = [r for r in sim.store.state.shipments if r.booking.reference == f"{repair_id}-in"]
    assert len(pickups) == 1 and pickups[0].cancelled_at is not None
    assert len(shipments) == 1 and shipments[0].voided_at is not None
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
    assert [(e["kind"], e.get("status") or e.get("to_state"), e["actor"]) for e in history["items"]][-2:] == [
        ("leg_status", "cancelled", "case_system"),
        ("state_changed", "cancelled", "case_system"),
    ]
    # Cancelling again is not an error and changes nothing.
    before = database_digest(service.services.settings.database_path)
    status, again, _ = await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"})
    assert status == 200 and again["state"] == "cancelled"
    assert database_digest(service.services.settings.database_path) == before


async def test_cancel_is_refused_once_the_carrier_has_the_device(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-CANCEL-2"))
    repair = created["repair"]
    service.clock.advance(days=1)
    await push(service, [scan(repair["inbound"]["tracking_number"], "PU", service.clock.now())])
    before = database_digest(service.services.settings.database_path)
    status, problem, _ = await service.call("POST", f"/v1/repairs/{repair['id']}/cancel", json={})
    assert status == 409 and problem["code"] == "repair.not_cancellable"
    assert database_digest(service.services.settings.database_path) == before


async def test_reschedule_books_a_new_pickup_and_cancels_the_old(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-RESCHED-1"))
    repair = created["repair"]
    first = created["pickup"]["local_date"]
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200, moved
    assert moved["pickup"]["local_date"] == "2026-03-10" != first
    assert moved["repair"]["inbound"]["status"] == "pickup_scheduled"
    sim = _sim(service)
    assert sim.pickups_for(f"{repair['id']}-in-p1") == []  # cancelled at the carrier
    assert len(sim.pickups_for(f"{repair['id']}-in-p2")) == 1
    status, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    steps = [(e["kind"], e.get("status"), e["actor"]) for e in history["items"]]
    at = steps.index(("rescheduled", None, "case_system"))
    # The leg went back to waiting for its new pickup, then had it booked: every step is in the history.
    assert steps[at + 1 :] == [
        ("leg_status", "label_created", "case_system"),
        ("booking", None, "service"),
        ("leg_status", "pickup_scheduled", "service"),
    ]


async def test_a_reschedule_to_the_slot_already_booked_changes_nothing(service: Service) -> None:
    """Without a date, a reschedule asks for the earliest slot; where that is the slot booked already, or a
    reschedule is retried after its answer was lost, nothing is cancelled or booked again."""
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-RESCHED-3"))
    repair_id = created["repair"]["id"]
    sim = _sim(service)
    before = database_digest(service.services.settings.database_path)
    status, same, _ = await service.call("POST", f"/v1/repairs/{repair_id}/reschedule", json={})
    assert status == 200 and same["pickup"] == created["pickup"]
    assert database_digest(service.services.settings.database_path) == before
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair_id}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200 and moved["pickup"]["local_date"] == "2026-03-10"
    before = database_digest(service.services.settings.database_path)
    status, again, _ = await service.call(
        "POST", f"/v1/repairs/{repair_id}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200 and again["pickup"] == moved["pickup"] and again["repair"] == moved["repair"]
    assert database_digest(service.services.settings.database_path) == before
    assert len(sim.pickups_for(f"{repair_id}-in-p2")) == 1 and sim.pickups_for(f"{repair_id}-in-p3") == []


async def test_reschedule_of_a_self_shipment_is_refused(service: Service) -> None:
    from tests.support.journeys import CORSICA_SITE

    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-RESCHED-2"))
    status, problem, _ = await service.call("POST", f"/v1/repairs/{created['repair']['id']}/reschedule", json={})
    assert status == 409 and problem["code"] == "reschedule.not_possible"


async def test_list_filters_and_paginates(service: Service) -> None:
    ids = []
    for n in range(5):
        service.clock.advance(minutes=1)
        _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, f"C-LIST-{n}"))
        ids.append(created["repair"]["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page, _ = await service.call("GET", "/v1/repairs", params=params)
        assert status == 200
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    status, page, _ = await service.call("GET", "/v1/repairs", params={"case_id": "C-LIST-3"})
    assert [r["id"] for r in page["items"]] == [ids[3]]
    status, page, _ = await service.call("GET", "/v1/repairs", params={"status": "delivered"})
    assert page["items"] == []
