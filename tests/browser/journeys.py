"""Repairs made through the API for the browser tests, on the live service's loop."""

from __future__ import annotations

from typing import Any

from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.live_service import LiveService


def create(live: LiveService, case_id: str, *, drop_off: bool = False, **entitlement: Any) -> dict[str, Any]:
    site = CORSICA_SITE if drop_off else PARIS_SITE
    status, created, _ = live.run(
        live.service.call("POST", "/v1/repairs", json=repair_request(site, case_id, **entitlement))
    )
    assert status == 201, created
    answer: dict[str, Any] = created
    return answer


def link(live: LiveService, created: dict[str, Any]) -> str:
    url: str = created["customer_label"]["url"]
    return live.service.base_url + url.removeprefix("http://127.0.0.1:8080")


def repair(live: LiveService, repair_id: str) -> dict[str, Any]:
    status, body, _ = live.run(live.service.call("GET", f"/v1/repairs/{repair_id}"))
    assert status == 200
    answer: dict[str, Any] = body
    return answer


def receive(live: LiveService, repair_id: str, centre: str = "fr-lyon") -> None:
    status, body, _ = live.run(
        live.service.call("POST", f"/v1/centres/{centre}/receipts", centre, json={"repair_id": repair_id})
    )
    assert status == 200, body


def dispatch(live: LiveService, repair_id: str, centre: str = "fr-lyon") -> None:
    body = {"repair_id": repair_id, "outcome": "repaired"}
    status, answer, _ = live.run(live.service.call("POST", f"/v1/centres/{centre}/dispatches", centre, json=body))
    assert status in (201, 202), answer
