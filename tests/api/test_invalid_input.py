"""Bad input gets a problem+json 4xx with a useful message, and the database is unchanged."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service
from tests.support.snapshot import database_digest


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    body = copy.deepcopy(repair_request(PARIS_SITE, "C-BAD"))
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(repair_request(PARIS_SITE, "C-BAD"))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


JSON_CASES: list[tuple[str, Any, int, str, str | None]] = [
    ("missing case id", _without(("case_id",)), 422, "request.invalid", "case_id"),
    ("missing site", _without(("site",)), 422, "request.invalid", "site"),
    ("missing postal code", _without(("site", "postal_code")), 422, "request.invalid", "site.postal_code"),
    ("wrong type", _with(("device", "product_line"), 42), 422, "request.invalid", "device.product_line"),
    (
        "unknown product line",
        _with(("device", "product_line"), "toaster"),
        422,
        "request.invalid",
        "device.product_line",
    ),
    ("lower-case country", _with(("site", "country"), "fr"), 422, "request.invalid", "site.country"),
    ("oversized name", _with(("site", "name"), "N" * 500), 422, "request.invalid", "site.name"),
    (
        "too many street lines",
        _with(("site", "street_lines"), ["a", "b", "c", "d"]),
        422,
        "request.invalid",
        "site.street_lines",
    ),
    ("unknown field", _with(("surprise",), 1), 422, "request.invalid", "surprise"),
    ("number for a date", _with(("preferred_date",), 0), 422, "request.invalid", "preferred_date"),
    (
        "string for a boolean",
        _with(("include_self_test_results",), "yes"),
        422,
        "request.invalid",
        "include_self_test_results",
    ),
    ("not an object", [1, 2, 3], 422, "request.invalid", None),
    # Text that carriers and labels print: trimmed, not empty once trimmed, no control characters.
    ("empty company", _with(("site", "company"), ""), 422, "request.invalid", "site.company"),
    ("blank city", _with(("site", "city"), "   "), 422, "request.invalid", "site.city"),
    ("tab in a name", _with(("site", "name"), "Camille\tMartin"), 422, "request.invalid", "site.name"),
    ("newline in a model", _with(("device", "model"), "EliteBook\n840"), 422, "request.invalid", "device.model"),
    (
        "item description longer than a label line",
        _with(("entitlement", "items"), [{"kind": "battery", "description": "x" * 61}]),
        422,
        "request.invalid",
        "entitlement.items.0.description",
    ),
    (
        "unknown country",
        _with(("site", "country"), "ZZ") | {"entitlement": {"service_level": "either", "country_of_purchase": "ZZ"}},
        422,
        "routing.refused",
        None,
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "code", "field"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
async def test_invalid_bodies(
    service: Service, name: str, body: Any, status: int, code: str, field: str | None
) -> None:
    before = database_digest(service.services.settings.database_path)
    got, problem, response = await service.call("POST", "/v1/repairs", json=body)
    assert got == status, problem
    assert response.content_type == "application/problem+json"
    assert problem["code"] == code and problem["detail"]
    if field is not None:
        assert field in [f["name"] for f in problem["fields"]], problem["fields"]
    assert database_digest(service.services.settings.database_path) == before


RAW_CASES: list[tuple[str, bytes, str, int, str]] = [
    ("malformed JSON", b'{"case_id": ', "application/json", 400, "request.malformed_json"),
    ("not UTF-8", b'{"case_id": "\xff"}', "application/json", 400, "request.malformed_json"),
    (
        "wrong content type",
        b"case_id=1",
        "application/x-www-form-urlencoded",
        415,
        "request.unsupported_media_type",
    ),
    (
        "huge body",
        b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        "application/json",
        413,
        "request.too_large",
    ),
]


@pytest.mark.parametrize(("name", "raw", "content_type", "status", "code"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
async def test_invalid_payloads(
    service: Service, name: str, raw: bytes, content_type: str, status: int, code: str
) -> None:
    before = database_digest(service.services.settings.database_path)
    got, problem, _ = await service.call(
        "POST", "/v1/repairs", data=io.BytesIO(raw), headers={"Content-Type": content_type}
    )
    assert got == status, problem
    assert problem["code"] == code
    assert database_digest(service.services.settings.database_path) == before


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/repairs", {"limit": "0"}, "request.invalid_query"),
        ("/v1/repairs", {"status": "flying"}, "request.invalid_query"),
        ("/v1/repairs", {"cursor": "%%%"}, "request.bad_cursor"),
        ("/v1/repairs", {"turnaround": "late"}, "request.invalid_query"),
        ("/v1/centres/fr-lyon/repairs", {"cursor": "0" * 40}, "request.bad_cursor"),
    ],
)
async def test_invalid_queries(service: Service, path: str, params: dict[str, str], code: str) -> None:
    who = "fr-lyon" if path.startswith("/v1/centres/") else "case_system"
    status, problem, _ = await service.call("GET", path, who, params=params)
    assert status == 422 and problem["code"] == code


async def test_unknown_route_and_method(service: Service) -> None:
    status, problem, _ = await service.call("GET", "/v1/nowhere")
    assert status == 404 and problem["code"] == "not_found"
    status, problem, response = await service.call("DELETE", "/v1/repairs")
    assert status == 405 and problem["code"] == "method.not_allowed"
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}


async def test_a_dispatch_names_the_serial_it_needs_or_refuses(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-BAD-DISPATCH"))
    repair_id = created["repair"]["id"]
    await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    before = database_digest(service.services.settings.database_path)
    for body in (
        {"repair_id": repair_id, "outcome": "replaced"},
        {"repair_id": repair_id, "outcome": "repaired", "replacement_serial": "NEW-1"},
    ):
        status, problem, _ = await service.call("POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json=body)
        assert status == 422 and problem["code"] == "request.invalid"
        assert [f["name"] for f in problem["fields"]] == ["replacement_serial"]
    assert database_digest(service.services.settings.database_path) == before


async def test_a_misread_receipt_scan_is_a_clear_422(service: Service) -> None:
    before = database_digest(service.services.settings.database_path)
    status, problem, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"scan": "LGX1|rp_0123|inbound|\u00e9"}
    )
    assert status == 422 and problem["code"] == "receipt.bad_scan", problem
    assert database_digest(service.services.settings.database_path) == before


@pytest.mark.parametrize("item", ["AC adapter", "x" * 41, "", "battery\n"])
async def test_a_receipt_names_items_as_the_packing_slip_does(service: Service, item: str) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-BAD-ITEMS"))
    before = database_digest(service.services.settings.database_path)
    status, problem, _ = await service.call(
        "POST",
        "/v1/centres/fr-lyon/receipts",
        "fr-lyon",
        json={"repair_id": created["repair"]["id"], "items_received": ["ac_adapter", item]},
    )
    assert status == 422 and problem["code"] == "request.invalid", problem
    assert [f["name"] for f in problem["fields"]] == ["items_received.1"]
    assert database_digest(service.services.settings.database_path) == before


async def test_problem_titles_are_for_people_and_codes_for_machines(service: Service) -> None:
    body = _with(("site", "country"), "fr")
    status, problem, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status == 422 and problem["title"] == "Unprocessable Entity" and problem["code"] == "request.invalid"
    status, problem, _ = await service.call("GET", "/v1/repairs/rp_00000000000000000000")
    assert status == 404 and problem["title"] == "Not Found"
