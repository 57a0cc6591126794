"""Routing decisions against the sample coverage: calendars, cut-offs, time zones, eligibility."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from logistics.domain.routing import (
    Coverage,
    Item,
    ItemKind,
    Method,
    ProductLine,
    RoutingDecision,
    ServiceLevel,
    decide,
)
from tests.routing.routing_builders import build_request


def items(**quantities: int) -> tuple[Item, ...]:
    return tuple(Item(kind=ItemKind(kind), quantity=n) for kind, n in quantities.items())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    id: str
    now: datetime
    country: str = "FR"
    postal_code: str = "75011"
    request: dict[str, Any] = field(default_factory=dict)
    eligible: bool = True
    region: str | None = None
    method: Method | None = Method.COURIER_PICKUP
    first_slot: date | None = None
    codes: tuple[str, ...] = ()  # reason codes that must be present
    absent: tuple[str, ...] = ()  # reason codes that must not be
    carrier: str = "sim"


CASES = [
    # Good Friday: a holiday in Alsace-Moselle, a working day in Paris. Easter Monday is off in both.
    Case(
        "good-friday-paris",
        utc(2025, 4, 18, 8),
        region="fr-idf",
        first_slot=date(2025, 4, 22),
        absent=("calendar.not_business_day", "calendar.after_cutoff"),
    ),
    Case(
        "good-friday-strasbourg",
        utc(2025, 4, 18, 8),
        postal_code="67000",
        region="fr-alsace",
        first_slot=date(2025, 4, 23),
        codes=("calendar.not_business_day",),
    ),
    Case(
        "good-friday-metz",
        utc(2025, 4, 18, 8),
        postal_code="57000",
        region="fr-moselle",
        first_slot=date(2025, 4, 23),
        codes=("calendar.not_business_day",),
    ),
    # 24 December after the 16:00 cut-off: counts from the 26th in Paris, from the 29th in Strasbourg.
    Case(
        "christmas-eve-after-cutoff-paris",
        utc(2025, 12, 24, 16),
        region="fr-idf",
        first_slot=date(2025, 12, 29),
        codes=("calendar.after_cutoff",),
    ),
    Case(
        "christmas-eve-after-cutoff-strasbourg",
        utc(2025, 12, 24, 16),
        postal_code="67000",
        first_slot=date(2025, 12, 30),
        codes=("calendar.after_cutoff",),
    ),
    Case(
        "christmas-eve-before-cutoff-paris",
        utc(2025, 12, 24, 9),
        first_slot=date(2025, 12, 26),
        absent=("calendar.after_cutoff",),
    ),
    Case("saturday", utc(2025, 6, 14, 10), first_slot=date(2025, 6, 17), codes=("calendar.not_business_day",)),
    # Nights of the clock changes in Paris (30 March and 26 October 2025).
    Case(
        "spring-forward-night",
        utc(2025, 3, 30, 1, 30),
        first_slot=date(2025, 4, 1),
        codes=("calendar.not_business_day",),
    ),
    Case("autumn-fall-back-night", utc(2025, 10, 26, 0, 30), first_slot=date(2025, 10, 28)),
    Case("friday-before-spring-forward", utc(2025, 3, 28, 14), first_slot=date(2025, 3, 31)),
    # Cut-off edge: 15:59:59 and 16:00:00 local (CEST) on a Thursday.
    Case(
        "one-second-before-cutoff",
        utc(2025, 6, 12, 13, 59, 59),
        first_slot=date(2025, 6, 13),
        absent=("calendar.after_cutoff",),
    ),
    Case("at-cutoff", utc(2025, 6, 12, 14), first_slot=date(2025, 6, 16), codes=("calendar.after_cutoff",)),
    # Réunion (UTC+4, 14:00 cut-off, two business days' lead): the site's clock decides, not Paris's.
    Case(
        "reunion-before-cutoff",
        utc(2025, 6, 12, 9, 59, 59),
        postal_code="97400",
        region="fr-reunion",
        first_slot=date(2025, 6, 16),
    ),
    Case(
        "reunion-at-cutoff",
        utc(2025, 6, 12, 10),
        postal_code="97400",
        first_slot=date(2025, 6, 17),
        codes=("calendar.after_cutoff",),
    ),
    Case(
        "reunion-own-country-code",
        utc(2025, 6, 12, 10),
        country="RE",
        postal_code="97400",
        request={"country_of_purchase": "FR"},
        region="fr-reunion",
        first_slot=date(2025, 6, 17),
    ),
    Case(
        "mayotte-customer-ships",
        utc(2025, 6, 12, 10),
        postal_code="97600",
        region="fr-mayotte",
        method=Method.SELF_SHIPMENT,
        codes=("method.self_shipment",),
        carrier="colissimo",  # a Colissimo Retour Outre-Mer label
    ),
    # Brittany: the Colissimo letterbox pickup, asked by 20:00 in Paris for the next business day.
    Case(
        "letterbox-before-cutoff",
        utc(2025, 6, 12, 17, 59, 59),
        postal_code="29200",
        region="fr-bretagne",
        first_slot=date(2025, 6, 13),
        absent=("calendar.after_cutoff",),
        carrier="colissimo",
    ),
    Case(
        "letterbox-at-cutoff",
        utc(2025, 6, 12, 18),
        postal_code="35000",
        region="fr-bretagne",
        first_slot=date(2025, 6, 16),
        codes=("calendar.after_cutoff",),
        carrier="colissimo",
    ),
    # The United Kingdom: Scotland's and England's bank holidays differ.
    Case(
        "scotland-2-january",
        utc(2025, 1, 2, 10),
        country="GB",
        postal_code="EH1 1YZ",
        region="gb-sct",
        first_slot=date(2025, 1, 6),
        codes=("calendar.not_business_day",),
    ),
    Case(
        "england-2-january",
        utc(2025, 1, 2, 10),
        country="GB",
        postal_code="SW1A 1AA",
        region="gb-eng",
        first_slot=date(2025, 1, 3),
    ),
    Case(
        "glasgow-easter-monday",
        utc(2025, 4, 21, 10),
        country="GB",
        postal_code="G1 1AA",
        region="gb-sct",
        first_slot=date(2025, 4, 22),
    ),
    Case(
        "gloucester-easter-monday",
        utc(2025, 4, 21, 10),
        country="GB",
        postal_code="GL1 1AA",
        region="gb-eng",
        first_slot=date(2025, 4, 23),
    ),
    Case(
        "scotland-st-andrew-observed",
        utc(2025, 12, 1, 10),
        country="GB",
        postal_code="EH1 1YZ",
        first_slot=date(2025, 12, 3),
    ),
    Case(
        "england-1-december",
        utc(2025, 12, 1, 10),
        country="GB",
        postal_code="SW1A 1AA",
        first_slot=date(2025, 12, 2),
    ),
    # Germany by Land: Bavaria by the site's subdivision, Hesse on the country-wide region's terms.
    Case(
        "bavaria-epiphany",
        utc(2025, 1, 6, 9),
        country="DE",
        postal_code="80331",
        request={"subdivision": "BY"},
        region="de-by",
        first_slot=date(2025, 1, 8),
    ),
    Case(
        "hesse-epiphany",
        utc(2025, 1, 6, 9),
        country="DE",
        postal_code="60311",
        request={"subdivision": "HE"},
        region="de",
        first_slot=date(2025, 1, 7),
    ),
    # Eligibility.
    Case(
        "outside-country-of-purchase",
        utc(2025, 6, 12, 9),
        country="BE",
        postal_code="1000",
        request={"country_of_purchase": "FR"},
        eligible=False,
        codes=("eligibility.outside_country_of_purchase",),
    ),
    Case(
        "seven-peripherals",
        utc(2025, 6, 12, 9),
        eligible=False,
        request={
            "peripheral_care_pack": True,
            "items": items(dock=1, headset=1, wireless_mouse=3, wireless_keyboard=2),
        },
        codes=("eligibility.too_many_peripherals",),
    ),
    Case(
        "six-peripherals",
        utc(2025, 6, 12, 9),
        request={"peripheral_care_pack": True, "items": items(dock=1, wireless_mouse=3, external_monitor=2)},
        first_slot=date(2025, 6, 13),
    ),
    Case(
        "monitor-without-pack",
        utc(2025, 6, 12, 9),
        eligible=False,
        request={"items": items(external_monitor=1)},
        codes=("eligibility.peripheral_not_covered",),
    ),
    Case(
        "monitor-with-pack",
        utc(2025, 6, 12, 9),
        request={"peripheral_care_pack": True, "items": items(external_monitor=1)},
        first_slot=date(2025, 6, 13),
    ),
    Case(
        "three-monitors-with-pack",
        utc(2025, 6, 12, 9),
        eligible=False,
        request={"peripheral_care_pack": True, "items": items(external_monitor=3)},
        codes=("eligibility.too_many_monitors",),
    ),
    Case(
        "consumables-and-media",
        utc(2025, 6, 12, 9),
        eligible=False,
        request={"items": items(consumable=1, removable_media=2)},
        codes=("eligibility.item_not_covered",),
    ),
    Case(
        "box-accessories-travel",
        utc(2025, 6, 12, 9),
        request={"items": items(ac_adapter=1, wired_mouse=1, battery=1)},
        first_slot=date(2025, 6, 13),
    ),
    Case(
        "desktop-spare-battery",
        utc(2025, 6, 12, 9),
        eligible=False,
        request={"product_line": ProductLine.DESKTOP, "items": items(battery=1)},
        codes=("eligibility.item_not_covered",),
    ),
    Case(
        "not-covered-country",
        utc(2025, 6, 12, 9),
        country="US",
        postal_code="10001",
        eligible=False,
        codes=("coverage.no_region",),
    ),
    # Service levels and the sheet's fallback outside served zones.
    Case(
        "corsica-pickup-asked-customer-ships",
        utc(2025, 6, 12, 9),
        postal_code="20000",
        region="fr-corse",
        request={"service_level": ServiceLevel.PICKUP_AND_RETURN},
        method=Method.SELF_SHIPMENT,
        codes=("method.pickup_not_offered",),
    ),
    Case(
        "customer-ship-where-pickup-offered",
        utc(2025, 6, 12, 9),
        method=Method.SELF_SHIPMENT,
        request={"service_level": ServiceLevel.CUSTOMER_SHIP},
        codes=("method.self_shipment", "calendar.ship_by"),
        carrier="colissimo",  # a Colissimo Retour France label
    ),
    Case(
        "milan-pickup",
        utc(2025, 6, 12, 9),
        country="IT",
        postal_code="20121",
        region="it-milano",
        first_slot=date(2025, 6, 16),
    ),
    Case(
        "naples-customer-ships",
        utc(2025, 6, 12, 9),
        country="IT",
        postal_code="80100",
        region="it",
        method=Method.SELF_SHIPMENT,
    ),
    # Preferred dates.
    Case(
        "preferred-date-kept",
        utc(2025, 6, 12, 9),
        request={"preferred_date": date(2025, 6, 18)},
        first_slot=date(2025, 6, 18),
        codes=("calendar.preferred_date_honoured",),
    ),
    Case(
        "preferred-date-too-early",
        utc(2025, 6, 12, 9),
        request={"preferred_date": date(2025, 6, 12)},
        first_slot=date(2025, 6, 13),
        codes=("calendar.preferred_date_too_early",),
    ),
    Case(
        "preferred-date-holiday",
        utc(2025, 7, 10, 9),
        request={"preferred_date": date(2025, 7, 14)},
        first_slot=date(2025, 7, 15),
        codes=("calendar.preferred_date_not_business_day",),
    ),
    Case(
        "preferred-date-too-far",
        utc(2025, 6, 12, 9),
        request={"preferred_date": date(2026, 6, 12)},
        first_slot=date(2025, 6, 13),
        codes=("calendar.preferred_date_too_far",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_decision(sample_coverage: Coverage, case: Case) -> None:
    request = build_request(case.country, case.postal_code, **case.request)
    decision = decide(sample_coverage, request, case.now)
    # Decisions are assembled without re-validation; they must still be what validation accepts.
    assert RoutingDecision.model_validate(decision.model_dump()) == decision
    codes = decision.reason_codes()
    assert decision.eligible is case.eligible, codes
    for code in case.codes:
        assert code in codes
    for code in case.absent:
        assert code not in codes
    if case.region is not None:
        assert decision.region_id == case.region
    if not case.eligible:
        assert decision.method is None
        assert decision.slots == ()
        assert decision.carrier is None
        return
    assert decision.method is case.method
    assert decision.carrier == case.carrier
    assert decision.return_carrier == "sim"
    assert decision.turnaround is not None
    assert codes[0] == "region.matched"
    if case.method is Method.COURIER_PICKUP:
        assert len(decision.slots) == 3
        assert decision.drop_off is None
        if case.first_slot is not None:
            assert decision.slots[0].local_date == case.first_slot
    else:
        assert decision.slots == ()
        assert decision.drop_off
        assert decision.ship_by is not None


def _slot_times(decision: RoutingDecision) -> list[tuple[datetime, datetime]]:
    return [(slot.ready_at, slot.close_at) for slot in decision.slots]


def test_slot_instants_follow_the_clock_change(sample_coverage: Coverage) -> None:
    # Friday 28 March, before the cut-off: Monday's 09:00-17:00 is already summer time (UTC+2).
    decision = decide(sample_coverage, build_request(), utc(2025, 3, 28, 14))
    assert _slot_times(decision)[0] == (utc(2025, 3, 31, 7), utc(2025, 3, 31, 15))
    # The Friday before the autumn change: Monday 27 October is winter time (UTC+1).
    decision = decide(sample_coverage, build_request(), utc(2025, 10, 24, 9))
    assert _slot_times(decision)[:1] == [(utc(2025, 10, 27, 8), utc(2025, 10, 27, 16))]
    assert all(slot.ready_time == time(9) and slot.close_time == time(17) for slot in decision.slots)


def test_reunion_slots_are_in_reunion_time(sample_coverage: Coverage) -> None:
    decision = decide(sample_coverage, build_request("FR", "97400"), utc(2025, 6, 12, 9))
    slot = decision.slots[0]
    assert slot.time_zone == "Indian/Reunion"
    assert (slot.ready_time, slot.close_time) == (time(10), time(16))
    assert (slot.ready_at, slot.close_at) == (utc(2025, 6, 16, 6), utc(2025, 6, 16, 12))


def test_workstations_go_to_their_own_centre(sample_coverage: Coverage) -> None:
    now = utc(2025, 6, 12, 9)
    notebook = decide(sample_coverage, build_request(), now)
    workstation = decide(sample_coverage, build_request(product_line=ProductLine.WORKSTATION), now)
    assert notebook.centre_id == "fr-lyon"
    assert workstation.centre_id == "de-frankfurt"
    assert "centre.by_product_line" in workstation.reason_codes()


def test_all_refusals_are_reported_at_once(sample_coverage: Coverage) -> None:
    request = build_request("BE", "1000", country_of_purchase="FR", items=items(consumable=1, dock=1))
    codes = decide(sample_coverage, request, utc(2025, 6, 12, 9)).reason_codes()
    assert {"eligibility.outside_country_of_purchase", "eligibility.item_not_covered"} <= set(codes)
    assert "eligibility.peripheral_not_covered" in codes


def test_defective_media_retention_is_stated(sample_coverage: Coverage) -> None:
    request = build_request(defective_media_retention=True)
    decision = decide(sample_coverage, request, utc(2025, 6, 12, 9))
    assert "handling.defective_media_retention" in decision.reason_codes()


def test_self_shipment_ship_by_counts_business_days(sample_coverage: Coverage) -> None:
    request = build_request(service_level=ServiceLevel.CUSTOMER_SHIP)
    decision = decide(sample_coverage, request, utc(2025, 12, 22, 9))  # Monday before Christmas
    assert decision.ship_by == date(2025, 12, 30)  # 23, 24, 26, 29, 30


def test_naive_now_is_refused(sample_coverage: Coverage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(sample_coverage, build_request(), datetime(2025, 6, 12, 9))
