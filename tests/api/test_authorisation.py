"""Every endpoint × every role × a repair of another centre: 401, 403 or 404 as specified, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service
from tests.support.snapshot import database_digest

OWN = "fr-lyon"  # the centre the Paris repair is routed to
OTHER = "de-frankfurt"


def routing_request() -> dict[str, Any]:
    body = repair_request(PARIS_SITE, "unused")
    return {key: body[key] for key in ("site", "device", "entitlement")}


def endpoints(repair_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/v1/routing/quote", routing_request()),
        ("POST", "/v1/repairs", repair_request(PARIS_SITE, "C-AUTH-2")),
        ("GET", "/v1/repairs", None),
        ("GET", f"/v1/repairs/{repair_id}", None),
        ("GET", f"/v1/repairs/{repair_id}/events", None),
        ("GET", f"/v1/repairs/{repair_id}/custody", None),
        ("POST", f"/v1/repairs/{repair_id}/cancel", {"reason": "test"}),
        ("POST", f"/v1/repairs/{repair_id}/reschedule", {}),
        ("GET", f"/v1/repairs/{repair_id}/labels/inbound", None),
        ("POST", f"/v1/centres/{OWN}/receipts", {"repair_id": repair_id}),
        ("POST", f"/v1/centres/{OWN}/dispatches", {"repair_id": repair_id, "outcome": "repaired"}),
        ("GET", f"/v1/centres/{OWN}/repairs", None),
        ("GET", f"/v1/centres/{OWN}/repairs/{repair_id}/labels/outbound", None),
        ("POST", "/v1/admin/coverage/reload", None),
    ]


CASE_ONLY = ("/v1/routing", "/v1/repairs")
CENTRE_ONLY = ("/v1/centres/",)


def expected(role: str, path: str) -> int | None:
    """The refusal expected for a role on a path, or None when the role may call it."""
    if role in ("none", "unknown"):
        return 401
    if path.startswith("/v1/admin/"):
        return None if role == "operator" else 403
    if path.startswith(CASE_ONLY):
        return None if role == "case_system" else 403
    if path.startswith(CENTRE_ONLY):
        if role == OWN:
            return None
        if role == OTHER:
            return 404  # another centre's path: as if it did not exist
        return 403
    raise AssertionError(path)


async def _create(service: Service) -> str:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-AUTH-1"))
    assert status == 201
    return str(created["repair"]["id"])


@pytest.mark.parametrize("role", ["none", "unknown", "case_system", "operator", OWN, OTHER])
async def test_refusals_change_nothing(service: Service, role: str) -> None:
    repair_id = await _create(service)
    before = database_digest(service.services.settings.database_path)
    checked = 0
    for method, path, body in endpoints(repair_id):
        refusal = expected(role, path)
        if refusal is None:
            continue
        headers = {"Authorization": "Bearer not-a-key"} if role == "unknown" else None
        who = None if role in ("none", "unknown") else role
        status, problem, response = await service.call(method, path, who, json=body, headers=headers)
        assert status == refusal, (role, method, path, problem)
        assert response.content_type == "application/problem+json"
        assert problem["status"] == refusal and problem["code"]
        checked += 1
    assert checked > 0
    assert database_digest(service.services.settings.database_path) == before


async def test_a_centre_cannot_see_or_touch_a_repair_routed_elsewhere(service: Service) -> None:
    repair_id = await _create(service)  # routed to fr-lyon
    before = database_digest(service.services.settings.database_path)
    for method, path, body in [
        ("POST", f"/v1/centres/{OTHER}/receipts", {"repair_id": repair_id}),
        ("POST", f"/v1/centres/{OTHER}/dispatches", {"repair_id": repair_id, "outcome": "repaired"}),
        ("GET", f"/v1/centres/{OTHER}/repairs/{repair_id}/labels/outbound", None),
    ]:
        status, problem, _ = await service.call(method, path, OTHER, json=body)
        assert status == 404, (path, problem)
        # The same answer as for a repair that does not exist at all.
        status_missing, missing, _ = await service.call(
            method,
            path.replace(repair_id, "rp_nonexistent"),
            OTHER,
            json=body and {**body, "repair_id": "rp_nonexistent"},
        )
        assert status_missing == 404 and missing["code"] == problem["code"]
    status, page, _ = await service.call("GET", f"/v1/centres/{OTHER}/repairs", OTHER)
    assert status == 200 and page["items"] == []
    assert database_digest(service.services.settings.database_path) == before


async def test_allowed_roles_get_through(service: Service) -> None:
    repair_id = await _create(service)
    for method, path, who in [
        ("GET", f"/v1/repairs/{repair_id}", "case_system"),
        ("GET", f"/v1/centres/{OWN}/repairs", OWN),
        ("POST", "/v1/admin/coverage/reload", "operator"),
    ]:
        status, body, _ = await service.call(method, path, who)
        assert status == 200, (path, body)


async def test_another_centres_repair_and_an_unknown_id_take_the_same_query(service: Service) -> None:
    """No timing oracle: the store is asked the same question, scoped to the caller's centre, for both."""
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-AUTH-SAME"))
    foreign = created["repair"]["id"]  # routed to fr-lyon, asked for by de-frankfurt
    unknown = "rp_0000000000000000dead"
    statements: list[str] = []
    store = service.services.store
    connection = store.database.reader_connection  # type: ignore[attr-defined]
    await connection.set_trace_callback(statements.append)
    answers = {}
    try:
        for name, repair_id in (("foreign", foreign), ("unknown", unknown)):
            statements.clear()
            path = f"/v1/centres/{OTHER}/repairs/{repair_id}/labels/outbound"
            status, problem, _ = await service.call("GET", path, OTHER)
            answers[name] = (
                status,
                problem["code"],
                problem["detail"],
                [s.replace(repair_id, "?") for s in statements],
            )
    finally:
        await connection.set_trace_callback(None)
    assert answers["foreign"] == answers["unknown"]
    assert answers["foreign"][0] == 404
    assert any("centre_id" in statement for statement in answers["foreign"][3])
