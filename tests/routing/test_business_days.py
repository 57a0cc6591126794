"""A region's own working days and closures: honoured in slots, ship-by dates and turnaround clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pytest

from logistics.coverage import SAMPLE_COVERAGE_PATH, read_document
from logistics.domain.model import WorkWeek
from logistics.domain.routing import Coverage, Method, WorkDays, calendar_for, decide
from logistics.domain.routing.coverage import SelfShipment
from logistics.services.turnaround import centre_calendar, site_calendar
from tests.routing.routing_builders import build_request
from tests.tracking.tracking_builders import build_repair


@cache
def _sample() -> dict[str, Any]:
    document: dict[str, Any] = read_document(SAMPLE_COVERAGE_PATH)
    return document


def _coverage(region_id: str, **changes: Any) -> Coverage:
    document = dict(_sample())
    document["regions"] = [dict(r, **changes) if r["id"] == region_id else r for r in document["regions"]]
    return Coverage.from_document(document)


def test_saturday_pickups_where_the_region_works_saturdays() -> None:
    # Friday 6 March 2026, 17:00 in Paris: after the 16:00 cut-off, so the request counts from the next day.
    now = datetime(2026, 3, 6, 16, tzinfo=UTC)
    weekdays = decide(_coverage("fr-idf"), build_request("FR", "75011"), now)
    assert weekdays.slots[0].local_date == date(2026, 3, 10)  # Monday counts, lead time 1: Tuesday
    saturdays = _coverage("fr-idf", business_days={"working_days": ["mon", "tue", "wed", "thu", "fri", "sat"]})
    decision = decide(saturdays, build_request("FR", "75011"), now)
    assert [slot.local_date for slot in decision.slots] == [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]
    # Saturday 7 March is the request day, Monday 9 March the pickup after one business day.
    at_saturday = decide(saturdays, build_request("FR", "75011"), datetime(2026, 3, 6, 9, tzinfo=UTC))
    assert at_saturday.slots[0].local_date == date(2026, 3, 7)


def test_closures_every_year_and_on_one_occasion_are_not_business_days() -> None:
    coverage = _coverage("fr-idf", business_days={"closed": ["12-24..01-01", "2026-12-22"]})
    # Monday 21 December 2026, 10:00 in Paris: the 22nd is closed, then Wednesday 23rd; then 2 January is a Saturday.
    decision = decide(coverage, build_request("FR", "75011"), datetime(2026, 12, 21, 9, tzinfo=UTC))
    assert [slot.local_date for slot in decision.slots] == [date(2026, 12, 23), date(2027, 1, 4), date(2027, 1, 5)]
    # Elsewhere in France the standard week still holds.
    lyon = decide(coverage, build_request("FR", "69007"), datetime(2026, 12, 21, 9, tzinfo=UTC))
    assert lyon.slots[0].local_date == date(2026, 12, 23)  # two days' lead time: 22nd, 23rd
    assert date(2026, 12, 24) in [slot.local_date for slot in lyon.slots]


def test_ship_by_honours_closures() -> None:
    coverage = _coverage("fr-corse", business_days={"closed": ["2026-03-09..2026-03-13"]})
    decision = decide(coverage, build_request("FR", "20000"), datetime(2026, 3, 6, 9, tzinfo=UTC))
    assert decision.method is Method.SELF_SHIPMENT
    assert decision.ship_by == date(2026, 3, 20)  # five business days from Friday 6 March, less a closed week


@pytest.mark.parametrize(
    ("business_days", "field", "message"),
    [
        ({"working_days": []}, "business_days.working_days", "at least 1"),
        ({"working_days": ["mon", "sabbath"]}, "business_days.working_days.1", "'mon'"),
        ({"closed": ["13-01"]}, "business_days.closed", "month must be in 1..12"),
        ({"closed": ["2026-12-31..2026-12-01"]}, "business_days.closed", "ends before it starts"),
        ({"closed": ["christmas"]}, "business_days.closed.0", "pattern"),
    ],
)
def test_bad_business_days_are_reported_with_their_field(business_days: Any, field: str, message: str) -> None:
    document = dict(_sample())
    document["regions"] = [dict(r, business_days=business_days) if r["id"] == "be" else r for r in document["regions"]]
    (problem,) = Coverage.check_document(document)
    assert (problem.entry_id, problem.field) == ("be", field)
    assert message in problem.message


def test_turnaround_clocks_count_the_regions_working_days() -> None:
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    repair = build_repair("rp1", now)
    saturday_start, monday_noon = datetime(2026, 3, 7, 0, tzinfo=UTC), datetime(2026, 3, 9, 11, tzinfo=UTC)
    assert site_calendar(repair).business_days_between(saturday_start, monday_noon) == pytest.approx(0.5)
    works_saturdays = WorkWeek(working_days=("mon", "tue", "wed", "thu", "fri", "sat"))
    stored = repair.model_copy(
        update={"routed": repair.routed.model_copy(update={"site_business_days": works_saturdays})}
    )
    # Saturday in Paris is 23:00 UTC Friday to 23:00 UTC Saturday: 23 of its 24 hours fall after the start.
    assert site_calendar(stored).business_days_between(saturday_start, monday_noon) == pytest.approx(0.5 + 23 / 24)


def test_time_at_the_centre_counts_the_centres_own_working_days_and_closures() -> None:
    document = dict(_sample())
    document["centres"] = [
        dict(c, business_days={"working_days": ["mon", "tue", "wed", "thu", "fri", "sat"], "closed": ["08-10..08-21"]})
        if c["id"] == "fr-lyon"
        else c
        for c in document["centres"]
    ]
    coverage = Coverage.from_document(document)
    lyon, frankfurt = centre_calendar(coverage.centres["fr-lyon"]), centre_calendar(coverage.centres["de-frankfurt"])
    saturday = (datetime(2026, 3, 6, 23, tzinfo=UTC), datetime(2026, 3, 7, 23, tzinfo=UTC))  # in Paris and Berlin
    assert lyon.business_days_between(*saturday) == pytest.approx(1.0)
    assert frankfurt.business_days_between(*saturday) == 0
    closed_fortnight = (datetime(2026, 8, 9, 22, tzinfo=UTC), datetime(2026, 8, 21, 22, tzinfo=UTC))
    assert lyon.business_days_between(*closed_fortnight) == 0
    assert frankfurt.business_days_between(*closed_fortnight) == pytest.approx(10.0)


def test_a_calendar_with_closures_names_the_day_off() -> None:
    rules = WorkDays(closed=("12-24..01-01",)).rules
    calendar = calendar_for("FR", None, "Europe/Paris", rules)
    assert calendar.day_off(date(2026, 12, 28)) == "closed"
    assert calendar.day_off(date(2026, 12, 25)) == "Christmas Day"
    assert calendar.day_off(date(2027, 1, 3)) == "Sunday, not a working day"
    assert calendar.day_off(date(2027, 1, 4)) is None
    assert calendar_for("FR", None, "Europe/Paris", rules) is calendar  # shared, like every calendar


def test_drop_off_texts_by_language() -> None:
    terms = SelfShipment(
        carrier="sim", drop_off="Hand it in at a relay point.", drop_off_by_language={"fr": "Déposez-le en relais."}
    )
    assert terms.drop_off_in("fr") == "Déposez-le en relais."
    assert terms.drop_off_in("fr-CA") == "Déposez-le en relais."
    assert terms.drop_off_in("de") == "Hand it in at a relay point."
    assert terms.drop_off_in(None) == "Hand it in at a relay point."
    coverage = _coverage(
        "fr-corse",
        self_shipment={**_sample()["x-terms"][2], "drop_off_by_language": {"fr": "Déposez le colis en point relais."}},
    )
    decision = decide(coverage, build_request("FR", "20000"), datetime(2026, 3, 6, 9, tzinfo=UTC))
    assert decision.drop_off_by_language == {"fr": "Déposez le colis en point relais."}
    assert decision.drop_off is not None and decision.drop_off.startswith("Pack the device")
