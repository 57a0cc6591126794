"""A repair keeps what its region says for its site: the drop-off text in the repair's language, the calendar
the address decided, the region's working days, which its turnaround clocks then count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from logistics.services.turnaround import site_calendar
from tests.support.clock import ManualClock
from tests.support.journeys import repair_request
from tests.support.service import running_service

SAMPLE = Path(__file__).parents[2] / "logistics" / "coverage" / "sample-coverage.yaml"

CORSICA_SITE = {
    "name": "Lucie Santoni",
    "street_lines": ["2 cours Napoléon"],
    "city": "Ajaccio",
    "postal_code": "20000",
    "country": "FR",
    "phone": "+33 4 95 00 00 00",
}


async def test_a_self_shipment_keeps_its_text_in_the_repairs_language_and_the_regions_working_days(
    tmp_path: Path,
) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "  - id: fr-corse\n", "  - id: fr-corse\n    business_days: {working_days: [mon, tue, wed, thu, fri, sat]}\n"
    )
    coverage = tmp_path / "coverage.yaml"
    coverage.write_text(text, encoding="utf-8")
    clock = ManualClock(datetime(2026, 3, 6, 9, tzinfo=UTC))  # Friday
    async with running_service(tmp_path, clock, coverage_path=coverage) as service:
        french = repair_request(CORSICA_SITE, "C-CORSE-FR", service_level="customer_ship")
        status, created, _ = await service.call("POST", "/v1/repairs", json=french)
        assert status in (201, 202), created
        # Five working days from Friday 6 March, Saturdays included.
        assert created["decision"]["ship_by"] == "2026-03-12"
        assert created["decision"]["calendar"] == {"country": "FR", "subdivision": None, "source": "postal_code"}
        repair = await service.services.repairs.get(created["repair"]["id"])
        assert repair.routed.drop_off is not None and repair.routed.drop_off.startswith("Emballez l'appareil")
        assert repair.routed.site_business_days is not None
        assert repair.routed.site_business_days.working_days[-1] == "sat"
        saturday, sunday = datetime(2026, 3, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 0, tzinfo=UTC)
        assert site_calendar(repair).business_days_between(saturday, sunday) > 0.9
        english = dict(repair_request(CORSICA_SITE, "C-CORSE-EN", service_level="customer_ship"), language="en")
        _, created, _ = await service.call("POST", "/v1/repairs", json=english)
        repair = await service.services.repairs.get(created["repair"]["id"])
        assert repair.routed.drop_off is not None and repair.routed.drop_off.startswith("Pack the device")
