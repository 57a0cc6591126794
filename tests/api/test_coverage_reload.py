"""Reloading the coverage: a good file is swapped in atomically; a bad one is refused and the old one stays."""

from __future__ import annotations

from pathlib import Path

from logistics.coverage import SAMPLE_COVERAGE_PATH
from tests.labels.pdf_reading import scan
from tests.support.clock import ManualClock
from tests.support.journeys import CORSICA_SITE, repair_request
from tests.support.service import running_service


def _quote_body() -> dict[str, object]:
    body = repair_request(CORSICA_SITE, "unused")
    return {key: body[key] for key in ("site", "device", "entitlement")}


async def test_reload_swaps_good_files_and_refuses_bad_ones(tmp_path: Path, clock: ManualClock) -> None:
    coverage = tmp_path / "coverage.yaml"
    original = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8")
    coverage.write_text(original, encoding="utf-8")
    async with running_service(tmp_path, clock, coverage_path=coverage) as service:
        status, decision, _ = await service.call("POST", "/v1/routing/quote", json=_quote_body())
        assert status == 200 and decision["method"] == "self_shipment"  # Corsica: no courier zone

        coverage.write_text(original.replace("regions:", "regions:\n  - id: [broken", 1), encoding="utf-8")
        status, problem, _ = await service.call("POST", "/v1/admin/coverage/reload", "operator")
        assert status == 422 and problem["code"] == "coverage.refused"
        assert "coverage.yaml" in problem["detail"]
        status, still, _ = await service.call("POST", "/v1/routing/quote", json=_quote_body())
        assert status == 200 and still == decision

        # Give Corsica a courier zone: the reload puts it in service at once.
        courier = original.replace(
            'postal_codes: ["20"]        # Corsica: no courier zone, the customer ships\n',
            'postal_codes: ["20"]\n    courier_pickup: *pickup-two-days\n',
        )
        assert courier != original
        coverage.write_text(courier, encoding="utf-8")
        status, reloaded, _ = await service.call("POST", "/v1/admin/coverage/reload", "operator")
        assert status == 200 and reloaded["generation"] == 2
        status, changed, _ = await service.call("POST", "/v1/routing/quote", json=_quote_body())
        assert changed["method"] == "courier_pickup"


async def test_a_reload_that_books_with_a_carrier_not_enabled_is_refused(tmp_path: Path, clock: ManualClock) -> None:
    coverage = tmp_path / "coverage.yaml"
    original = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8")
    coverage.write_text(original, encoding="utf-8")
    async with running_service(tmp_path, clock, coverage_path=coverage) as service:  # only sim is enabled
        coverage.write_text(original.replace("return_carrier: sim", "return_carrier: ups", 1), encoding="utf-8")
        status, problem, _ = await service.call("POST", "/v1/admin/coverage/reload", "operator")
        assert status == 422 and problem["code"] == "coverage.refused"
        assert "'ups'" in problem["detail"] and "not enabled" in problem["detail"]
        assert service.services.coverage.generation == 1


async def test_a_label_downloaded_again_after_a_reload_says_what_the_new_coverage_says(
    tmp_path: Path, clock: ManualClock
) -> None:
    # A cached label is found by the repair and the coverage it was described with: a new coverage is read.
    coverage = tmp_path / "coverage.yaml"
    original = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8")
    coverage.write_text(original, encoding="utf-8")
    async with running_service(tmp_path, clock, coverage_path=coverage) as service:
        status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-RELOAD"))
        assert status in (201, 202), created
        path = f"/v1/repairs/{created['repair']['id']}/labels/inbound?format=a4"
        status, before, response = await service.call("GET", path)
        assert status == 200 and response.content_type == "application/pdf"
        status, again, _ = await service.call("GET", path)
        assert again == before

        later = original.replace("cinq jours ouvrés", "sept jours ouvrés").replace("five business days", "seven days")
        assert later != original
        coverage.write_text(later, encoding="utf-8")
        status, _, _ = await service.call("POST", "/v1/admin/coverage/reload", "operator")
        assert status == 200
        status, after, _ = await service.call("GET", path)
        assert status == 200 and after != before
        assert "sept jours" in scan(after)[-1].text + scan(after)[0].text
        assert "sept jours" not in scan(before)[-1].text + scan(before)[0].text
