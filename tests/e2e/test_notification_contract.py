"""The notification contract: every type the case system can receive, each body checked against its schema in
``openapi.yaml``'s ``webhooks:`` section (the receiver refuses one that does not match and fails the test)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.openapi import check_notification, spec
from tests.support.service import Service, running_service
from tests.support.webhook_receiver import Receiver, webhook_receiver

NOTE = "box crushed on one corner, device unharmed"


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
        json={"tracking_number": inbound, "items_received": [], "condition": "damaged_box", "note": NOTE},
    )
    assert status == 200
    clock.advance(days=12)
    assert await service.services.turnaround.evaluate() == 1
    status, dispatched, _ = await service.call(
        "POST",
        "/v1/centres/fr-lyon/dispatches",
        "fr-lyon",
        json={"repair_id": repair_id, "outcome": "repaired", "self_test_passed": True},
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
        received = next(m for m in messages if m["type"] == "repair.state_changed" and m["to_state"] == "at_centre")
        assert received["details"]["note"] == NOTE
        (dispatched,) = (m for m in messages if m["type"] == "repair.dispatched")
        assert dispatched["details"]["self_test_passed"] is True
        _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
        (outcome,) = (entry for entry in history["items"] if entry["kind"] == "outcome")
        assert outcome["details"]["self_test_passed"] is True
        assert any(entry["details"].get("note") == NOTE for entry in history["items"])


async def _feed(service: Service, limit: int = 7) -> list[dict[str, Any]]:
    """The whole feed, page by page, over HTTP."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {"limit": str(limit), **({"after": after} if after else {})}
        status, page, _ = await service.call("GET", "/v1/events", params=params)
        assert status == 200, page
        if not page["items"]:
            assert page["next_cursor"] == (after or "0")  # an empty page keeps the cursor
            return items
        items += page["items"]
        after = page["next_cursor"]


async def test_after_the_receiver_was_down_the_feed_has_everything_and_a_redelivery_catches_up(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        webhook_receiver(clock.now) as receiver,
        running_service(tmp_path, clock, webhook={"url": receiver.url}) as service,
    ):
        receiver.fail_next = 10**6  # the case system is down
        repair_id = await _every_kind_of_change(service, receiver)
        _, other, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-OTHER"))
        await _drain(service)
        clock.advance(days=4)  # longer than notifications are retried
        reader = service.services.store.reader()
        while (await reader.outbox_depth())["notifications"]:
            await service.services.delivery.deliver_due()
        assert receiver.received == []

        items = await _feed(service)
        assert [int(i["cursor"]) for i in items] == sorted(int(i["cursor"]) for i in items)
        assert {i["delivery"]["status"] for i in items} == {"abandoned"}
        mine = [i for i in items if i["repair_id"] == repair_id]
        assert [i["sequence"] for i in mine] == list(range(1, len(mine) + 1))
        assert {i["repair_id"] for i in items} == {repair_id, other["repair"]["id"]}
        for item in items:
            check_notification(item["payload"])
            assert item["id"] == f"msg_{item['repair_id']}_{item['sequence']}"

        receiver.fail_next = 0  # back up: the operator asks for the repair's notifications again
        status, answer, _ = await service.call(
            "POST", "/v1/admin/notifications/redeliver", "operator", json={"repair_id": repair_id}
        )
        assert (status, answer) == (200, {"requeued": len(mine)})
        await _drain(service)
        got = receiver.by_repair()
        assert [m["sequence"] for m in got[repair_id]] == [i["sequence"] for i in mine]
        assert got[repair_id] == [i["payload"] for i in mine]
        assert other["repair"]["id"] not in got
        assert {i["delivery"]["status"] for i in await _feed(service) if i["repair_id"] == repair_id} == {"delivered"}
        _, metrics, _ = await service.call("GET", "/metrics", "operator")
        text = metrics.decode()
        for outcome in ("delivered", "failed", "abandoned"):
            assert f'logistics_notifications_total{{outcome="{outcome}"}}' in text
        assert f"logistics_notification_delivery_seconds_count {len(mine)}.0" in text


async def test_a_redelivery_by_time_range_and_its_refusals(tmp_path: Path, clock: ManualClock) -> None:
    async with (
        webhook_receiver(clock.now) as receiver,
        running_service(tmp_path, clock, webhook={"url": receiver.url}) as service,
    ):
        await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-EARLY"))
        start = clock.advance(hours=1)
        _, late, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LATE"))
        await _drain(service)
        before = len(receiver.received)
        in_range = [i for i in await _feed(service) if i["queued_at"] >= start.isoformat()]
        window = {"since": start.isoformat(), "until": (start + timedelta(minutes=1)).isoformat()}
        status, answer, _ = await service.call("POST", "/v1/admin/notifications/redeliver", "operator", json=window)
        assert (status, answer) == (200, {"requeued": len(in_range)}), answer
        await _drain(service)
        again = receiver.received[before:]
        assert {m["payload"]["repair_id"] for m in again} == {late["repair"]["id"]}
        refusals = [
            ("operator", {}, 422, "redelivery.unbounded"),
            ("operator", {"since": window["until"], "until": window["since"]}, 422, "redelivery.empty_range"),
            ("operator", {"repair_id": "rp_nope"}, 404, "repair.not_found"),
            ("operator", {"since": "yesterday"}, 422, "request.invalid"),
            ("case_system", {"repair_id": late["repair"]["id"]}, 403, "auth.role_forbidden"),
        ]
        for who, body, status_expected, code in refusals:
            status, problem, _ = await service.call("POST", "/v1/admin/notifications/redeliver", who, json=body)
            assert (status, problem["code"]) == (status_expected, code), body
        status, problem, _ = await service.call("GET", "/v1/events", params={"after": "not-a-cursor"})
        assert (status, problem["code"]) == (422, "feed.bad_cursor")
