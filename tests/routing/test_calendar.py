"""Business calendars by country and subdivision, and the business-day arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from logistics.domain.routing import BusinessCalendar, UnknownCalendar, calendar_for


@pytest.mark.parametrize(
    ("country", "subdivision", "day", "business"),
    [
        ("FR", None, date(2025, 4, 18), True),  # Good Friday: worked in Paris
        ("FR", "67", date(2025, 4, 18), False),  # a holiday in Alsace
        ("FR", "68", date(2025, 12, 26), False),
        ("FR", "57", date(2025, 12, 26), False),  # Moselle
        ("FR", "Alsace-Moselle", date(2025, 4, 18), False),
        ("FR", None, date(2025, 12, 26), True),
        ("FR", "974", date(2025, 12, 19), True),
        ("FR", "La Réunion", date(2025, 12, 19), True),
        ("FR", "974", date(2025, 12, 22), True),
        ("FR", "972", date(2025, 5, 22), False),  # abolition of slavery in Martinique
        ("FR", None, date(2025, 5, 22), True),
        ("GB", "SCT", date(2025, 1, 2), False),
        ("GB", "ENG", date(2025, 1, 2), True),
        ("GB", "Scotland", date(2025, 12, 1), False),  # St Andrew's Day observed (30 Nov is a Sunday)
        ("GB", "ENG", date(2025, 12, 1), True),
        ("GB", "SCT", date(2025, 4, 21), True),  # Easter Monday is not a Scottish bank holiday
        ("GB", "ENG", date(2025, 4, 21), False),
        ("GB", "NIR", date(2025, 3, 17), False),  # St Patrick's Day
        ("DE", "BY", date(2025, 1, 6), False),  # Epiphany in Bavaria
        ("DE", "HE", date(2025, 1, 6), True),
        ("DE", "Bayern", date(2025, 1, 6), False),
        ("ES", "CT", date(2025, 6, 24), False),  # Sant Joan in Catalonia
        ("ES", "MD", date(2025, 6, 24), True),
        ("FR", None, date(2025, 4, 19), False),  # a Saturday
        ("FR", None, date(2025, 4, 20), False),  # a Sunday
    ],
)
def test_business_days_by_subdivision(country: str, subdivision: str | None, day: date, business: bool) -> None:
    assert calendar_for(country, subdivision).is_business_day(day) is business


def test_calendars_are_shared_and_canonical() -> None:
    assert calendar_for("FR", "67") is calendar_for("fr", "Alsace")
    assert calendar_for("GB", "Scotland").subdivision == "SCT"
    assert calendar_for("FR", "974").time_zone == "Indian/Reunion"
    assert calendar_for("FR").time_zone == "Europe/Paris"


@pytest.mark.parametrize(("country", "subdivision"), [("XX", None), ("FR", "99"), ("GB", "Cornwall")])
def test_unknown_calendars_are_refused(country: str, subdivision: str | None) -> None:
    with pytest.raises(UnknownCalendar):
        calendar_for(country, subdivision)


def test_add_business_days_skips_weekends_and_holidays() -> None:
    alsace, paris = calendar_for("FR", "67"), calendar_for("FR")
    thursday = date(2025, 4, 17)
    assert paris.add_business_days(thursday, 1) == date(2025, 4, 18)
    assert alsace.add_business_days(thursday, 1) == date(2025, 4, 22)  # Good Friday, weekend, Easter Monday
    assert paris.add_business_days(thursday, 0) == thursday
    assert paris.add_business_days(date(2025, 4, 22), -1) == date(2025, 4, 18)
    assert paris.next_business_day(date(2025, 12, 24)) == date(2025, 12, 26)
    assert alsace.next_business_day(date(2025, 12, 24)) == date(2025, 12, 29)
    assert paris.on_or_after(date(2025, 4, 19)) == date(2025, 4, 22)
    assert paris.on_or_after(thursday) == thursday


def test_holiday_names() -> None:
    assert calendar_for("GB", "SCT").holiday_name(date(2025, 1, 2)) is not None
    assert calendar_for("GB", "ENG").holiday_name(date(2025, 1, 2)) is None


def test_business_days_between_counts_fractions_of_local_days() -> None:
    paris = calendar_for("FR")
    # Monday noon to Wednesday noon, local (CEST, UTC+2).
    assert paris.business_days_between(
        datetime(2025, 6, 2, 10, tzinfo=UTC), datetime(2025, 6, 4, 10, tzinfo=UTC)
    ) == pytest.approx(2.0)
    # Friday 18:00 to Monday 09:00 local: a quarter of Friday and 9/24 of Monday.
    assert paris.business_days_between(
        datetime(2025, 6, 13, 16, tzinfo=UTC), datetime(2025, 6, 16, 7, tzinfo=UTC)
    ) == pytest.approx(0.25 + 0.375)
    # Across the spring clock change: Friday noon CET to Monday noon CEST is still one business day.
    assert paris.business_days_between(
        datetime(2025, 3, 28, 11, tzinfo=UTC), datetime(2025, 3, 31, 10, tzinfo=UTC)
    ) == pytest.approx(1.0)
    assert paris.business_days_between(
        datetime(2025, 6, 4, 10, tzinfo=UTC), datetime(2025, 6, 2, 10, tzinfo=UTC)
    ) == pytest.approx(-2.0)
    # Nothing accrues over a weekend.
    assert paris.business_days_between(
        datetime(2025, 6, 7, 8, tzinfo=UTC), datetime(2025, 6, 8, 20, tzinfo=UTC)
    ) == pytest.approx(0.0)


def test_a_calendar_can_be_read_in_another_zone() -> None:
    calendar = BusinessCalendar("FR", "974", "Indian/Reunion")
    # 21:00 UTC on Friday is already Saturday in Réunion (UTC+4): no business time left.
    assert calendar.business_days_between(
        datetime(2025, 6, 6, 21, tzinfo=UTC), datetime(2025, 6, 8, 12, tzinfo=UTC)
    ) == pytest.approx(0.0)
