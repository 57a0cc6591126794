"""A courier journey on a virtual clock where carrier pushes, polling and centre scans interleave, and the
case system is notified of every change through signed webhooks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.barcodes import decode_pdf
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.service import Service, running_service
from tests.support.webhook_receiver import webhook_receiver


async def _state(service: Service, repair_id: str) -> str:
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    return str(repair["state"])


async def _drain_notifications(service: Service) -> None:
    while await service.services.delivery.deliver_due():
        pass


async def test_pushes_polls_and_scans_mixed(tmp_path: Path, clock: ManualClock) -> None:
    async with (
        webhook_receiver(clock.now) as receiver,
        running_service(tmp_path, clock, webhook={"url": receiver.url}) as service,
    ):
        _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-MIX-1"))
        repair_id = created["repair"]["id"]
        inbound = created["repair"]["inbound"]["tracking_number"]
        _, pdf, _ = await service.call(
            "GET", created["customer_label"]["url"].removeprefix("http://127.0.0.1:8080"), None
        )
        payload = next(text for fmt, text in decode_pdf(pdf) if fmt in ("DataMatrix", "QRCode"))
        receiver.fail_next = 3  # the case system is down for a while: nothing is lost
        await _drain_notifications(service)

        await _drain_notifications(service)
        clock.advance(hours=5)  # the sim's timeline: picked up after 4 hours
        assert await service.services.poller.poll_due() >= 1
        assert await _state(service, repair_id) == "in_transit_to_centre"
        await _drain_notifications(service)
        clock.advance(hours=4)
        await push(service, [scan(inbound, "IT", clock.now() - timedelta(hours=1))])
        await _drain_notifications(service)
        clock.advance(hours=20)
        await service.services.poller.poll_due()  # OD and DL at the centre; polled IT is a duplicate or older
        _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
        assert repair["inbound"]["status"] == "delivered" and repair["state"] == "in_transit_to_centre"

        await _drain_notifications(service)
        clock.advance(hours=1)
        status, _, _ = await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"scan": payload})
        assert status == 200
        await _drain_notifications(service)
        clock.advance(days=1)
        status, dispatched, _ = await service.call(
            "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json={"repair_id": repair_id, "outcome": "repaired"}
        )
        assert status == 201
        outbound = dispatched["repair"]["outbound"]["tracking_number"]
        await _drain_notifications(service)
        clock.advance(hours=5)
        await push(service, [scan(outbound, "PU", clock.now())])
        assert await _state(service, repair_id) == "in_transit_to_customer"
        await _drain_notifications(service)
        clock.advance(hours=30)
        await service.services.poller.poll_due()
        assert await _state(service, repair_id) == "delivered"

        _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
        leg_statuses = [(e["leg"], e["status"]) for e in history["items"] if e["kind"] == "leg_status"]
        assert leg_statuses == [
            ("inbound", "label_created"),
            ("inbound", "pickup_scheduled"),
            ("inbound", "picked_up"),
            ("inbound", "in_transit"),
            ("inbound", "out_for_delivery"),
            ("inbound", "delivered"),
            ("outbound", "label_created"),
            ("outbound", "picked_up"),
            ("outbound", "in_transit"),
            ("outbound", "out_for_delivery"),
            ("outbound", "delivered"),
        ]
        _, custody, _ = await service.call("GET", f"/v1/repairs/{repair_id}/custody")
        vias = {row["source"].split(":")[0] for row in custody["items"]}
        assert "sim" in vias

        for _ in range(12):
            await _drain_notifications(service)
            await _drain_notifications(service)
        clock.advance(minutes=10)
        messages = receiver.by_repair()[repair_id]
        assert [m["sequence"] for m in messages] == list(range(1, len(messages) + 1))
        states = [m["to_state"] for m in messages if m["type"] == "repair.state_changed"]
        assert states == ["in_transit_to_centre", "at_centre", "in_transit_to_customer", "delivered"]
        assert receiver.rejected == 0
