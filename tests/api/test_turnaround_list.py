"""Turnaround over HTTP: a device kept at the centre turns at risk, then breached, and the list of repairs
at risk or breached for a centre or a region shows it."""

from __future__ import annotations

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service


async def _listed(service: Service, **params: str) -> list[str]:
    status, page, _ = await service.call("GET", "/v1/repairs", params={"turnaround": "at_risk,breached", **params})
    assert status == 200
    return [r["id"] for r in page["items"]]


async def test_at_risk_then_breached_at_the_centre(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-TAT-1"))
    repair_id = created["repair"]["id"]
    service.clock.advance(days=1)
    status, _, _ = await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    assert status == 200  # Tuesday 09:00 in Paris; the region allows 3 business days at the centre
    watch = service.services.turnaround

    service.clock.advance(days=1)
    await watch.evaluate()
    assert await _listed(service, centre_id="fr-lyon") == []

    service.clock.advance(days=1, hours=12)  # 2.5 business days used: past 80 % of the target
    await watch.evaluate()
    await watch.evaluate()  # evaluating again changes nothing
    assert await _listed(service, centre_id="fr-lyon") == [repair_id]
    assert await _listed(service, region_id="fr-idf") == [repair_id]
    assert await _listed(service, centre_id="de-frankfurt") == []
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["turnaround_status"] == "at_risk"

    service.clock.advance(days=4)  # over the weekend and beyond: breached
    await watch.evaluate()
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["turnaround_status"] == "breached"
    queued = [e.notification for e in await service.services.store.reader().notification_feed(0, 1000)]
    transitions = [
        n.payload["turnaround_status"]
        for n in sorted(queued, key=lambda n: n.seq)
        if n.repair_id == repair_id and n.type == "repair.turnaround_changed"
    ]
    assert transitions == ["at_risk", "breached"]  # once per transition
