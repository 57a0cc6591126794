"""Lists the case system filters on: several states at once, dispatched or not, changed since, sorted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.service import Service


async def _create(service: Service, case_id: str) -> dict[str, Any]:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, case_id))
    assert status in (201, 202), created
    service.clock.advance(minutes=1)
    return dict(created["repair"])


async def _ids(service: Service, **params: str) -> list[str]:
    status, page, _ = await service.call("GET", "/v1/repairs", params=params)
    assert status == 200, page
    return [r["case_id"] for r in page["items"]]


async def _receive(service: Service, repair: dict[str, Any]) -> None:
    number = repair["inbound"]["tracking_number"]
    body = {"tracking_number": number, "items_received": ["ac_adapter"]}
    status, _, _ = await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json=body)
    assert status == 200


async def test_lists_filter_on_several_states_on_dispatch_and_on_changes_and_sort(service: Service) -> None:
    a, b, c = [await _create(service, case) for case in ("A", "B", "C")]
    service.clock.advance(hours=2)
    await push(service, [scan(a["inbound"]["tracking_number"], "PU", service.clock.now() - timedelta(hours=1))])
    await _receive(service, b)
    await _receive(service, c)
    status, _, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json={"repair_id": b["id"], "outcome": "repaired"}
    )
    assert status == 201

    assert await _ids(service, status="in_transit_to_centre") == ["A"]
    assert await _ids(service, status="in_transit_to_centre,at_centre") == ["A", "B", "C"]
    # Dispatched, waiting for the carrier, against being repaired: both still at the centre.
    assert await _ids(service, status="at_centre", dispatched="true") == ["B"]
    assert await _ids(service, status="at_centre", dispatched="false") == ["C"]

    looked_at = service.clock.advance(hours=1)
    service.clock.advance(minutes=5)
    # A carrier scan dated before the centre's receipt arrives late: C changed now, though the scan is old.
    await push(service, [scan(c["inbound"]["tracking_number"], "PU", looked_at - timedelta(hours=2))])
    assert await _ids(service, updated_since=looked_at.isoformat()) == ["C"]
    assert (await _ids(service, sort="-updated_at"))[0] == "C"
    assert await _ids(service, sort="created_at") == ["A", "B", "C"]

    seen: list[str] = []
    params = {"sort": "-created_at", "limit": "1"}
    while True:
        status, page, _ = await service.call("GET", "/v1/repairs", params=params)
        seen += [r["case_id"] for r in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["C", "B", "A"]

    for bad in ({"status": "at_centre,lost"}, {"sort": "state"}, {"updated_since": "yesterday"}):
        status, problem, _ = await service.call("GET", "/v1/repairs", params=bad)
        assert (status, problem["code"]) == (422, "request.invalid_query"), bad


async def test_the_customers_label_link_is_read_from_the_repair_and_reissued_revoking_the_old(
    service: Service,
) -> None:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LINK"))
    repair_id = created["repair"]["id"]
    first = created["customer_label"]["url"].removeprefix("http://127.0.0.1:8080")
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    link = repair["customer_label"]
    assert link["status"] == "live" and link["expires_at"] == created["customer_label"]["expires_at"]

    service.clock.advance(days=31)
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["customer_label"]["status"] == "expired"
    status, reissued, _ = await service.call("POST", link["reissue"])
    assert status == 201 and reissued["revoked"] == 1
    second = reissued["url"].removeprefix("http://127.0.0.1:8080")
    assert (await service.call("GET", second, None))[0] == 200
    assert (await service.call("GET", first, None))[0] == 404
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["customer_label"]["status"] == "live"

    status, reissued_again, _ = await service.call("POST", link["reissue"])
    assert (await service.call("GET", second, None))[0] == 404  # each re-issue revokes the one before
    assert (await service.call("GET", reissued_again["url"].removeprefix("http://127.0.0.1:8080"), None))[0] == 200

    assert (await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"}))[0] == 200
    status, problem, _ = await service.call("POST", link["reissue"])
    assert (status, problem["code"]) == (409, "label.not_reissuable")
    status, problem, _ = await service.call("POST", "/v1/repairs/rp_nope/customer-label")
    assert (status, problem["code"]) == (404, "repair.not_found")
