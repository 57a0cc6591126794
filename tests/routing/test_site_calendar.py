"""The calendar and time zone follow the address: derived subdivisions, refusals, and slots against them.

The expected calendars and zones are written out here, by hand, and the property test recomputes business
days from the ``holidays`` library and ``zoneinfo`` directly rather than through the service's calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.coverage import SAMPLE_COVERAGE_PATH, read_document
from logistics.domain.routing import Coverage, Method, decide
from logistics.domain.routing.subdivisions import derive
from tests.routing.routing_builders import build_request

# (country, postal code, the holidays library's subdivision expected, the site's zone)
DERIVED: list[tuple[str, str, str | None, str]] = [
    # France: Alsace-Moselle, each overseas department, the rest national (Corsica included).
    ("FR", "57000", "57", "Europe/Paris"),
    ("FR", "67000", "6AE", "Europe/Paris"),
    ("FR", "68100", "6AE", "Europe/Paris"),
    ("FR", "97110", "971", "America/Guadeloupe"),
    ("FR", "97200", "972", "America/Martinique"),
    ("FR", "97300", "973", "America/Cayenne"),
    ("FR", "97400", "974", "Indian/Reunion"),
    ("FR", "97600", "976", "Indian/Mayotte"),
    ("FR", "97500", "PM", "America/Miquelon"),
    ("FR", "97133", "BL", "America/St_Barthelemy"),
    ("FR", "97150", "MF", "America/Marigot"),
    ("FR", "98600", "WF", "Pacific/Wallis"),
    ("FR", "98714", "PF", "Pacific/Tahiti"),
    ("FR", "98800", "NC", "Pacific/Noumea"),
    ("FR", "75011", None, "Europe/Paris"),
    ("FR", "69007", None, "Europe/Paris"),
    ("FR", "20000", None, "Europe/Paris"),
    # Spain: province to autonomous community, the Canaries and Ceuta in their own zones.
    ("ES", "28001", "MD", "Europe/Madrid"),
    ("ES", "08001", "Barcelona", "Europe/Madrid"),
    ("ES", "08500", "CT", "Europe/Madrid"),
    ("ES", "22001", "AR", "Europe/Madrid"),
    ("ES", "33001", "AS", "Europe/Madrid"),
    ("ES", "39001", "CB", "Europe/Madrid"),
    ("ES", "47001", "CL", "Europe/Madrid"),
    ("ES", "45001", "CM", "Europe/Madrid"),
    ("ES", "06001", "EX", "Europe/Madrid"),
    ("ES", "15001", "GA", "Europe/Madrid"),
    ("ES", "30001", "MC", "Europe/Madrid"),
    ("ES", "26001", "RI", "Europe/Madrid"),
    ("ES", "48001", "PV", "Europe/Madrid"),
    ("ES", "41001", "AN", "Europe/Madrid"),
    ("ES", "46001", "VC", "Europe/Madrid"),
    ("ES", "07001", "IB", "Europe/Madrid"),
    ("ES", "31001", "NC", "Europe/Madrid"),
    ("ES", "35001", "CN", "Atlantic/Canary"),
    ("ES", "38001", "CN", "Atlantic/Canary"),
    ("ES", "51001", "CE", "Africa/Ceuta"),
    ("ES", "52001", "ML", "Africa/Ceuta"),
    # United Kingdom: postcode areas and the border districts.
    ("GB", "SW1A 1AA", "ENG", "Europe/London"),
    ("GB", "B7 4BB", "ENG", "Europe/London"),
    ("GB", "EH1 1YZ", "SCT", "Europe/London"),
    ("GB", "G2 1DU", "SCT", "Europe/London"),
    ("GB", "TD9 7AA", "SCT", "Europe/London"),
    ("GB", "TD15 1AA", "ENG", "Europe/London"),
    ("GB", "CF10 1AA", "WLS", "Europe/London"),
    ("GB", "CH5 1AA", "WLS", "Europe/London"),
    ("GB", "CH1 1AA", "ENG", "Europe/London"),
    ("GB", "SY23 1AA", "WLS", "Europe/London"),
    ("GB", "BT1 1AA", "NIR", "Europe/London"),
    # Portugal: Madeira and the Azores.
    ("PT", "1000-001", None, "Europe/Lisbon"),
    ("PT", "9000-001", "30", "Atlantic/Madeira"),
    ("PT", "9500-001", "20", "Atlantic/Azores"),
    # Italy: provinces (their patron saint) and the cities with their own calendar.
    ("IT", "20121", "MI", "Europe/Rome"),
    ("IT", "00184", "RM", "Europe/Rome"),
    ("IT", "20900", "MB", "Europe/Rome"),
    ("IT", "10121", "TO", "Europe/Rome"),
    ("IT", "80133", "NA", "Europe/Rome"),
    ("IT", "47921", "RN", "Europe/Rome"),
    ("IT", "76123", "Andria", "Europe/Rome"),
    ("IT", "33170", "PN", "Europe/Rome"),
    ("IT", "09170", "OR", "Europe/Rome"),
    ("IT", "47121", "Forli", "Europe/Rome"),
    # Germany: where the postal region lies in one Land, and Augsburg.
    ("DE", "80331", "BY", "Europe/Berlin"),
    ("DE", "10115", "BE", "Europe/Berlin"),
    ("DE", "60311", "HE", "Europe/Berlin"),
    ("DE", "70173", "BW", "Europe/Berlin"),
    ("DE", "01067", "SN", "Europe/Berlin"),
    ("DE", "15230", "BB", "Europe/Berlin"),
    ("DE", "20095", "HH", "Europe/Berlin"),
    ("DE", "22769", "HH", "Europe/Berlin"),
    ("DE", "28195", "HB", "Europe/Berlin"),
    ("DE", "27568", "HB", "Europe/Berlin"),
    ("DE", "66111", "SL", "Europe/Berlin"),
    ("DE", "18055", "MV", "Europe/Berlin"),
    ("DE", "24103", "SH", "Europe/Berlin"),
    ("DE", "30159", "NI", "Europe/Berlin"),
    ("DE", "40213", "NW", "Europe/Berlin"),
    ("DE", "39104", "ST", "Europe/Berlin"),
    ("DE", "54290", "RP", "Europe/Berlin"),
    ("DE", "99084", "TH", "Europe/Berlin"),
    ("DE", "86150", "Augsburg", "Europe/Berlin"),
    # One calendar for the whole country in the library: national.
    ("AT", "1010", None, "Europe/Vienna"),
    ("BE", "1000", None, "Europe/Brussels"),
    ("NL", "1011 AB", None, "Europe/Amsterdam"),
    ("LU", "L-1111", None, "Europe/Luxembourg"),
    ("PL", "00-001", None, "Europe/Warsaw"),
]


@cache
def _sample_document() -> dict[str, Any]:
    document: dict[str, Any] = read_document(SAMPLE_COVERAGE_PATH)
    return document


@cache
def countrywide_coverage() -> Coverage:
    """The sample's centres with one region per country and no postal codes: the calendar is the address's."""
    document = dict(_sample_document())
    template = next(r for r in document["regions"] if r["id"] == "fr-idf")
    countries = sorted({country for country, *_ in DERIVED} | {"CH", "IE"})
    document["regions"] = [
        {k: v for k, v in template.items() if k not in ("time_zone", "repair_centre_by_product_line")}
        | {"id": country.lower(), "country": country, "postal_codes": []}
        for country in countries
    ]
    return Coverage.from_document(document)


@pytest.mark.parametrize("coverage_name", ["sample", "countrywide"])
@pytest.mark.parametrize(("country", "postal_code", "subdivision", "zone"), DERIVED)
def test_the_postal_code_decides_the_calendar_and_the_zone(
    sample_coverage: Coverage, coverage_name: str, country: str, postal_code: str, subdivision: str | None, zone: str
) -> None:
    coverage = sample_coverage if coverage_name == "sample" else countrywide_coverage()
    decision = decide(coverage, build_request(country, postal_code), datetime(2026, 3, 2, 8, tzinfo=UTC))
    if coverage_name == "sample" and country == "FR" and postal_code.startswith(OUTSIDE_THE_SAMPLE):
        assert decision.reason_codes() == ("coverage.no_region",)  # the sample serves no Pacific or Miquelon site
        return
    assert decision.eligible, decision.reasons
    assert decision.calendar is not None
    assert (decision.calendar.country, decision.calendar.subdivision) == (country, subdivision)
    assert decision.time_zone == zone
    assert all(slot.time_zone == zone for slot in decision.slots)


@pytest.mark.parametrize(("postal_code", "city"), [("67000", "Strasbourg"), ("68100", "Mulhouse"), ("57000", "Metz")])
def test_alsace_moselle_gets_no_pickup_on_good_friday_under_a_france_wide_region(postal_code: str, city: str) -> None:
    # Thursday 2 April 2026, 10:00 in Paris; Good Friday is 3 April, a holiday in Alsace-Moselle only.
    now = datetime(2026, 4, 2, 8, tzinfo=UTC)
    decision = decide(countrywide_coverage(), build_request("FR", postal_code), now)
    assert decision.method is Method.COURIER_PICKUP
    assert date(2026, 4, 3) not in {slot.local_date for slot in decision.slots}, city
    assert decision.slots[0].local_date == date(2026, 4, 7)  # Easter Monday is a holiday everywhere
    paris = decide(countrywide_coverage(), build_request("FR", "75011"), now)
    assert paris.slots[0].local_date == date(2026, 4, 3)


def test_a_reunion_slot_is_in_reunion_hours_under_a_france_wide_region() -> None:
    decision = decide(countrywide_coverage(), build_request("FR", "97400"), datetime(2026, 3, 2, 4, tzinfo=UTC))
    slot = decision.slots[0]
    assert (slot.time_zone, slot.ready_time.hour) == ("Indian/Reunion", 9)
    assert slot.ready_at.hour == 5  # 09:00 in Réunion (UTC+4), not 09:00 in Paris


@pytest.mark.parametrize(
    ("country", "postal_code", "given", "subdivision"),
    [
        ("DE", "80331", "DE-BY", "BY"),
        ("DE", "80331", "BY", "BY"),
        ("DE", "80331", "Bayern", "BY"),
        ("DE", "53111", "DE-NW", "NW"),  # Bonn's postal region is not one Land's: the site's is used
        ("GB", "EH1 1YZ", "GB-SCT", "SCT"),
        ("GB", "EH1 1YZ", "Scotland", "SCT"),
        ("FR", "97400", "FR-974", "974"),
        ("FR", "97400", "RE", "974"),
        ("FR", "67000", "67", "6AE"),
        ("FR", "67000", "Alsace", "6AE"),
        ("FR", "75011", "FR-75", None),  # the department of a national-calendar code
        ("ES", "35001", "ES-CN", "CN"),
        ("PT", "9000-001", "PT-30", "30"),
        ("IT", "76123", "BT", "Andria"),  # the city's province means the city's calendar
        ("GB", "TD12 4AA", "ENG", "ENG"),  # a district on the border: the site chooses
        ("CH", "8001", "CH-ZH", "ZH"),
    ],
)
def test_iso_forms_aliases_and_consistent_subdivisions_are_accepted(
    sample_coverage: Coverage, country: str, postal_code: str, given: str, subdivision: str | None
) -> None:
    decision = decide(
        sample_coverage, build_request(country, postal_code, subdivision=given), datetime(2026, 3, 2, 8, tzinfo=UTC)
    )
    assert decision.eligible, decision.reasons
    assert decision.calendar is not None and decision.calendar.subdivision == subdivision


def test_a_coverage_file_may_write_subdivisions_the_iso_way() -> None:
    document = dict(_sample_document())
    document["regions"] = [
        dict(r, subdivision="DE-BY") if r["id"] == "de-by" else r for r in document["regions"] if r["id"] != "fr-alsace"
    ] + [dict(next(r for r in document["regions"] if r["id"] == "fr-alsace"), subdivision="FR-67")]
    document["centres"] = [
        dict(c, calendar={"country": "DE", "subdivision": "DE-HE"}) if c["id"] == "de-frankfurt" else c
        for c in document["centres"]
    ]
    coverage = Coverage.from_document(document)
    munich = decide(coverage, build_request("DE", "80331"), datetime(2026, 1, 5, 8, tzinfo=UTC))
    assert munich.region_id == "de-by" and munich.calendar is not None and munich.calendar.subdivision == "BY"
    strasbourg = decide(coverage, build_request("FR", "67000"), datetime(2026, 1, 5, 8, tzinfo=UTC))
    assert strasbourg.calendar is not None and strasbourg.calendar.subdivision == "6AE"
    document["regions"] = [dict(r, subdivision="FR-BY") if r["id"] == "de-by" else r for r in document["regions"]]
    (problem,) = Coverage.check_document(document)
    assert problem.entry_id == "de-by" and "'FR-BY' is not in country DE" in problem.message


def test_bavaria_written_the_iso_way_is_bavaria_not_the_nation(sample_coverage: Coverage) -> None:
    # Epiphany (6 January 2026, a Tuesday) is a holiday in Bavaria, not in Hesse.
    now = datetime(2026, 1, 5, 8, tzinfo=UTC)
    munich = decide(sample_coverage, build_request("DE", "80331", subdivision="DE-BY"), now)
    assert munich.region_id == "de-by"
    assert munich.slots[0].local_date == date(2026, 1, 7)
    frankfurt = decide(sample_coverage, build_request("DE", "60311"), now)
    assert frankfurt.slots[0].local_date == date(2026, 1, 6)


@pytest.mark.parametrize(
    ("country", "postal_code", "given", "code"),
    [
        ("FR", "75011", "974", "site.subdivision_contradicts_postal_code"),
        ("FR", "75011", "FR-69", "site.subdivision_unknown"),
        ("FR", "67000", "57", "site.subdivision_contradicts_postal_code"),
        ("FR", "97400", "971", "site.subdivision_contradicts_postal_code"),
        ("DE", "80331", "HE", "site.subdivision_contradicts_postal_code"),
        ("DE", "80331", "FR-BY", "site.subdivision_unknown"),
        ("DE", "53111", "XX", "site.subdivision_unknown"),
        ("GB", "EH1 1YZ", "ENG", "site.subdivision_contradicts_postal_code"),
        ("GB", "SW1A 1AA", "Scotland", "site.subdivision_contradicts_postal_code"),
        ("ES", "28001", "CT", "site.subdivision_contradicts_postal_code"),
        ("ES", "28001", "Atlantis", "site.subdivision_unknown"),
        ("PT", "1000-001", "20", "site.subdivision_contradicts_postal_code"),
        ("IT", "20121", "RM", "site.subdivision_contradicts_postal_code"),
        ("CH", "8001", "Zürichsee", "site.subdivision_unknown"),
        ("GB", "JE2 3AB", None, "site.postal_code_in_other_country"),
        ("FR", "98000", None, "site.postal_code_in_other_country"),
        ("IT", "47890", None, "site.postal_code_in_other_country"),
    ],
)
def test_contradictory_or_unknown_subdivisions_are_refused_naming_the_field(
    sample_coverage: Coverage, country: str, postal_code: str, given: str | None, code: str
) -> None:
    decision = decide(
        sample_coverage, build_request(country, postal_code, subdivision=given), datetime(2026, 3, 2, 8, tzinfo=UTC)
    )
    assert not decision.eligible
    assert decision.slots == () and decision.calendar is None
    (refusal,) = (r for r in decision.reasons if r.code.startswith("site."))
    assert refusal.code == code
    field = "site.postal_code" if code == "site.postal_code_in_other_country" else "site.subdivision"
    assert refusal.message.startswith(field)


@pytest.mark.parametrize(
    ("country", "time_zone", "message"),
    [
        ("FR", "America/New_York", "time_zone 'America/New_York' is not a zone of FR"),
        ("SE", None, "time_zone is required: the service knows no time zone of SE"),
    ],
)
def test_a_regions_zone_cannot_disagree_with_its_country(country: str, time_zone: str | None, message: str) -> None:
    document = dict(_sample_document())
    template = next(r for r in document["regions"] if r["id"] == "fr-idf")
    region = {k: v for k, v in template.items() if k != "time_zone"} | {"id": "odd", "country": country}
    document["regions"] = [region | ({"time_zone": time_zone} if time_zone else {})]
    (problem,) = Coverage.check_document(document)
    assert problem.entry_id == "odd" and message in problem.message
    # With a zone, a country the service does not know works in it; with none, France keeps its own zones.
    document["regions"] = [region | {"country": "SE", "time_zone": "Europe/Stockholm", "postal_codes": []}]
    decision = decide(Coverage.from_document(document), build_request("SE", "11122"), datetime(2026, 3, 2, tzinfo=UTC))
    assert decision.time_zone == "Europe/Stockholm"


def test_a_site_without_a_decidable_subdivision_is_told_the_national_calendar(sample_coverage: Coverage) -> None:
    decision = decide(sample_coverage, build_request("CH", "8001"), datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert decision.calendar is not None and decision.calendar.source == "national"
    assert "calendar.national" in decision.reason_codes()
    austria = decide(sample_coverage, build_request("AT", "1010"), datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert "calendar.national" not in austria.reason_codes()  # all of Austria keeps one calendar


def test_a_border_district_takes_its_regions_nation_else_the_usual_one_and_says_so(sample_coverage: Coverage) -> None:
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    # Wales's region serves a Welsh-English border district: its calendar, which the postcode allows.
    document = dict(_sample_document())
    document["regions"] = [
        dict(r, postal_codes=[*r["postal_codes"], "SY13"]) if r["id"] == "gb-wls" else r for r in document["regions"]
    ]
    by_region = decide(Coverage.from_document(document), build_request("GB", "SY13 1AA"), now)
    assert by_region.calendar is not None
    assert (by_region.calendar.subdivision, by_region.calendar.source) == ("WLS", "region")
    # A UK-wide region names none: the district's usual nation, stated.
    assumed = decide(countrywide_coverage(), build_request("GB", "TD12 4AA"), now)
    assert assumed.calendar is not None and assumed.calendar.subdivision == "SCT"
    assert "calendar.subdivision_assumed" in assumed.reason_codes()
    # Lisbon: the national calendar, with nothing assumed (a district only adds its capital's holiday).
    lisbon = decide(sample_coverage, build_request("PT", "1000-001"), now)
    assert lisbon.calendar is not None and lisbon.calendar.subdivision is None
    assert "calendar.subdivision_assumed" not in lisbon.reason_codes()


@pytest.mark.parametrize("country", ["FR", "ES", "IT", "DE"])
def test_every_regional_calendar_of_the_library_is_reached_by_some_postal_code(country: str) -> None:
    reached: set[str | None] = set()
    for number in range(0, 100_000, 1):
        derived = derive(country, f"{number:05d}")
        if derived is not None:
            reached.update(derived.calendars)
    national = set(holidays.country_holidays(country, years=2026))
    # Subdivisions whose holidays differ from the nation's, less France's school zones and southern lands.
    regional = {
        code
        for code in holidays.country_holidays(country, years=()).subdivisions
        if set(holidays.country_holidays(country, subdiv=code, years=2026)) != national
    } - {"Zone A", "Zone B", "Zone C", "TF"}
    assert regional <= reached


# --- the property: slots against an independent computation ---------------------------------------------

OUTSIDE_THE_SAMPLE = ("975", "986", "987", "988")  # French postal codes the sample coverage does not serve
SAMPLE_SITES = [row for row in DERIVED if not (row[0] == "FR" and row[1].startswith(OUTSIDE_THE_SAMPLE))]


@cache
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _business(country: str, subdivision: str | None, day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, subdivision, day.year)


def _following(country: str, subdivision: str | None, day: date) -> date:
    day += timedelta(days=1)
    while not _business(country, subdivision, day):
        day += timedelta(days=1)
    return day


def french_calendar(postal_code: str) -> tuple[str | None, str]:
    """France's rule written out again, for random codes: (holidays subdivision, zone)."""
    if postal_code == "97133":
        return "BL", "America/St_Barthelemy"
    if postal_code == "97150":
        return "MF", "America/Marigot"
    overseas = {
        "971": "America/Guadeloupe",
        "972": "America/Martinique",
        "973": "America/Cayenne",
        "974": "Indian/Reunion",
        "976": "Indian/Mayotte",
    }
    if postal_code[:3] in overseas:
        return postal_code[:3], overseas[postal_code[:3]]
    if postal_code[:2] == "57":
        return "57", "Europe/Paris"
    if postal_code[:2] in ("67", "68"):
        return "6AE", "Europe/Paris"
    return None, "Europe/Paris"


def _french_site(number: int) -> tuple[str, str, str | None, str]:
    code = f"{number:05d}"
    return ("FR", code, *french_calendar(code))


# Any code the sample serves in France: the metropolitan range and the overseas departments.
random_french_sites = st.one_of(
    st.integers(1000, 95999), *(st.integers(d * 100, d * 100 + 99) for d in (971, 972, 973, 974, 976))
).map(_french_site)


@cache
def _telling_days(country: str, subdivision: str | None) -> list[date]:
    """Days of 2026-2027 on which a wrong calendar shows for a site: those its own calendar and its nation's
    disagree on; for a site of the national calendar, the days some other calendar of its country keeps."""
    years = (2026, 2027)
    own = frozenset().union(*(_holidays(country, subdivision, year) for year in years))
    national = frozenset().union(*(_holidays(country, None, year) for year in years))
    if own != national:
        return sorted(own ^ national)
    others = [_holidays(c, sub, year) for c, _, sub, _ in DERIVED if c == country for year in years]
    return sorted(frozenset().union(*others) - own)


def _instant(data: st.DataObject, country: str, subdivision: str | None) -> datetime:
    """Anywhere in two years, or in the few days before a day that tells the site's calendar from others."""
    days = _telling_days(country, subdivision)
    near: bool = data.draw(st.booleans())
    if days and near:
        day = data.draw(st.sampled_from(days))
        back = timedelta(days=data.draw(st.integers(0, 4)), minutes=data.draw(st.integers(0, 24 * 60 - 1)))
        return datetime(day.year, day.month, day.day, tzinfo=UTC) - back
    return data.draw(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
    )


@pytest.mark.parametrize("site", SAMPLE_SITES, ids=lambda row: f"{row[0]}-{row[1]}")
@settings(derandomize=True, max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_slots_are_business_days_of_the_sites_own_calendar_in_its_own_zone(
    sample_coverage: Coverage, site: tuple[str, str, str | None, str], data: st.DataObject
) -> None:
    country, _, subdivision, _ = site
    _check_site(sample_coverage, site, _instant(data, country, subdivision))


@settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=random_french_sites, data=st.data())
def test_slots_of_random_french_sites_against_the_rule_written_again(
    sample_coverage: Coverage, site: tuple[str, str, str | None, str], data: st.DataObject
) -> None:
    _check_site(sample_coverage, site, _instant(data, "FR", site[2]))


def _check_site(sample_coverage: Coverage, site: tuple[str, str, str | None, str], now: datetime) -> None:
    country, postal_code, subdivision, zone = site
    decision = decide(sample_coverage, build_request(country, postal_code), now)
    assert decision.eligible
    region = sample_coverage.regions[decision.region_id or ""]
    local_now = now.astimezone(ZoneInfo(zone))
    today = local_now.date()
    counted = today if _business(country, subdivision, today) else _following(country, subdivision, today)
    if decision.method is Method.SELF_SHIPMENT:
        assert region.self_shipment is not None
        ship_by = counted
        for _ in range(region.self_shipment.ship_within_business_days):
            ship_by = _following(country, subdivision, ship_by)
        assert decision.ship_by == ship_by
        return
    terms = region.courier_pickup
    assert terms is not None
    if counted == today and local_now.time() >= terms.cut_off:
        counted = _following(country, subdivision, counted)
    expected = [counted]
    for _ in range(terms.lead_time_business_days):
        expected[0] = _following(country, subdivision, expected[0])
    while len(expected) < 3:
        expected.append(_following(country, subdivision, expected[-1]))
    assert [slot.local_date for slot in decision.slots] == expected
    for slot in decision.slots:
        assert slot.time_zone == zone
        ready_local = slot.ready_at.astimezone(ZoneInfo(zone))
        assert (ready_local.date(), ready_local.time()) == (slot.local_date, terms.window.ready)
        assert slot.close_at.astimezone(ZoneInfo(zone)).time() == terms.window.close
        assert slot.ready_at > now
