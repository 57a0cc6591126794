"""The notification contract: every type the case system can receive, each body checked against its schema in
``openapi.yaml``'s ``webhooks:`` section (the receiver refuses one that does not match and fails the test)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.openapi import spec
from tests.support.service import Service, running_service
from tests.support.webhook_receiver import Receiver, webhook_receiver


async def _drain(service: Service) -> None:
    while await service.services.delivery.deliver_due():
        pass


async def _every_kind_of_change(service: Service, receiver: Receiver) -> str:
    """A courier journey that goes through every notified change; returns the repair's id."""
    clock = service.clock
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-CONTRACT"))
    assert status == 201, created
    repair_id = created["repair"]["id"]
    status, _, _ = await service.call(
        "POST",
        f"/v1/repairs/{repair_id}/reschedule",
        json={"preferred_date": (clock.now() + timedelta(days=7)).date().isoformat()},
    )
    assert status == 200
    await service.services.bookings.run_due()
    inbound = created["repair"]["inbound"]["tracking_number"]
    clock.advance(days=8)
    await push(service, [scan(inbound, "PU", clock.now() - timedelta(hours=3))])
    await push(service, [scan(inbound, "EX", clock.now() - timedelta(hours=2))])
    await push(service, [scan(inbound, "IT", clock.now() - timedelta(hours=1))])
    clock.advance(days=1)
    status, _, _ = await service.call(
        "POST",
        "/v1/centres/fr-lyon/receipts",
        "fr-lyon",
        json={"tracking_number": inbound, "items_received": [], "condition": "damaged_box"},
    )
    assert status == 200
    clock.advance(days=12)
    assert await service.services.turnaround.evaluate() == 1
    status, dispatched, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json={"repair_id": repair_id, "outcome": "repaired"}
    )
    assert status == 201, dispatched
    await service.services.bookings.run_due()
    outbound = dispatched["repair"]["outbound"]["tracking_number"]
    clock.advance(days=1)
    # Delivered reported before picked up: the transit step is inferred, then dated by the pickup scan.
    await push(service, [scan(outbound, "DL", clock.now() - timedelta(hours=1))])
    await push(service, [scan(outbound, "PU", clock.now() - timedelta(hours=20))])
    return str(repair_id)


async def test_every_notification_type_is_received_and_matches_its_schema(tmp_path: Path, clock: ManualClock) -> None:
    async with (
        webhook_receiver(clock.now) as receiver,
        running_service(tmp_path, clock, webhook={"url": receiver.url}) as service,
    ):
        repair_id = await _every_kind_of_change(service, receiver)
        await _drain(service)
        assert receiver.types() == set(spec()["webhooks"])
        messages = receiver.by_repair()[repair_id]
        assert [m["sequence"] for m in messages] == list(range(1, len(messages) + 1))
        states = [
            (m["to_state"], m["details"].get("inferred")) for m in messages if m["type"] == "repair.state_changed"
        ]
        assert states == [
            ("in_transit_to_centre", None),
            ("at_centre", None),
            ("in_transit_to_customer", True),
            ("delivered", None),
        ]
