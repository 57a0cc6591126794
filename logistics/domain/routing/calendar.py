"""Business calendars by country and subdivision: which days a courier collects and a desk works.

A business day is a working day of the week (Monday to Friday unless a region's ``WorkRules`` say otherwise,
e.g. Saturday pickups) that is not a public holiday in the calendar's country and subdivision, as published
by the ``holidays`` library, nor one of the region's or centre's own closures.

Subdivisions are the library's codes, which are ISO 3166-2 suffixes for most countries ("BY" in Germany, "SCT"
in the United Kingdom, "MD" in Spain) and, for France, the departments whose holidays differ from the national
calendar: "57" (Moselle), "6AE" (Alsace, that is 67 and 68) and the overseas departments "971" to "976". The
library's own aliases ("Scotland", "Bayern", "La Réunion") are accepted, and so are "67", "68" and
"Alsace-Moselle", which have the Alsace calendar, and the ISO 3166-2 forms with their country ("DE-BY",
"GB-SCT", "FR-974").

``holidays`` objects are slow to build, so calendars are cached per (country, subdivision) and each keeps a
per-year set of holiday dates. This module reads no clock: every date and instant is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final

import holidays

from logistics.domain.routing.local_time import local_instant, to_local, zone

# Aliases that the holidays library does not know but addresses in France use.
_EXTRA_ALIASES: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        ("FR", "67"): "6AE",
        ("FR", "68"): "6AE",
        ("FR", "ALSACE-MOSELLE"): "6AE",  # Moselle (57) keeps the same holidays as Alsace
    }
)

# The zone of each calendar: where its days begin and end, and the zone of every site in it. A country
# listed here has its sites' zones decided by their calendar, whatever a coverage region says.
_ZONES: Final[Mapping[tuple[str, str | None], str]] = MappingProxyType(
    {
        ("FR", "971"): "America/Guadeloupe",
        ("FR", "972"): "America/Martinique",
        ("FR", "973"): "America/Cayenne",
        ("FR", "974"): "Indian/Reunion",
        ("FR", "976"): "Indian/Mayotte",
        ("FR", "PM"): "America/Miquelon",
        ("FR", "BL"): "America/St_Barthelemy",
        ("FR", "MF"): "America/Marigot",
        ("FR", "WF"): "Pacific/Wallis",
        ("FR", "PF"): "Pacific/Tahiti",
        ("FR", "NC"): "Pacific/Noumea",
        ("FR", "TF"): "Indian/Kerguelen",
        ("ES", "CN"): "Atlantic/Canary",
        ("ES", "CE"): "Africa/Ceuta",
        ("ES", "ML"): "Africa/Ceuta",
        ("PT", "20"): "Atlantic/Azores",
        ("PT", "30"): "Atlantic/Madeira",
        ("AT", None): "Europe/Vienna",
        ("BE", None): "Europe/Brussels",
        ("CH", None): "Europe/Zurich",
        ("DE", None): "Europe/Berlin",
        ("ES", None): "Europe/Madrid",
        ("FR", None): "Europe/Paris",
        ("GB", None): "Europe/London",
        ("IE", None): "Europe/Dublin",
        ("IT", None): "Europe/Rome",
        ("LU", None): "Europe/Luxembourg",
        ("NL", None): "Europe/Amsterdam",
        ("PL", None): "Europe/Warsaw",
        ("PT", None): "Europe/Lisbon",
    }
)
_COUNTRY_ZONES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {country: frozenset(z for (c, _), z in _ZONES.items() if c == country) for country in {c for c, _ in _ZONES}}
)


WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_TO_FRIDAY: Final = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class WorkRules:
    """A region's or centre's own working days and closures, on top of the public holidays.

    ``weekdays``: the days of the week worked (0 is Monday). ``closed``: inclusive date ranges closed on
    one occasion. ``closed_every_year``: inclusive (month, day) ranges closed every year, which may run
    over the new year ((12, 24), (1, 1)). Hashable, so calendars built with them are shared.
    """

    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    closed: tuple[tuple[date, date], ...] = ()
    closed_every_year: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()

    def is_closed(self, day: date) -> bool:
        for first, last in self.closed:
            if first <= day <= last:
                return True
        here = (day.month, day.day)
        for first_md, last_md in self.closed_every_year:
            inside = first_md <= here <= last_md if first_md <= last_md else here >= first_md or here <= last_md
            if inside:
                return True
        return False


STANDARD_WORK: Final = WorkRules()


class UnknownCalendar(ValueError):
    """The country or subdivision has no calendar in the ``holidays`` library."""


@lru_cache(maxsize=1024)
def canonical_subdivision(country: str, subdivision: str | None) -> str | None:
    """The library's code for ``subdivision`` of ``country`` (aliases resolved), or None for the nation.

    Raises ``UnknownCalendar`` when the country or the subdivision is not known.
    """
    country = country.upper()
    try:
        entity = holidays.country_holidays(country, years=())
    except NotImplementedError as exc:
        raise UnknownCalendar(f"no holiday calendar for country {country!r}") from exc
    if subdivision is None or not subdivision.strip():
        return None
    wanted = subdivision.strip()
    # The ISO 3166-2 form ("DE-BY") names its country: it must be this one.
    named, dash, rest = wanted.partition("-")
    if dash and len(named) == 2 and named.isalpha() and rest:
        if named.upper() != country:
            raise UnknownCalendar(f"subdivision {subdivision!r} is not in country {country}")
        wanted = rest
    codes: tuple[str, ...] = tuple(getattr(entity, "subdivisions", ()))
    aliases: Mapping[str, str] = getattr(entity, "subdivisions_aliases", {})
    by_upper = {code.upper(): code for code in codes}
    by_upper.update({alias.upper(): code for alias, code in aliases.items()})
    extra = _EXTRA_ALIASES.get((country, wanted.upper()))
    if extra is not None:
        return extra
    if wanted.upper() in by_upper:
        return by_upper[wanted.upper()]
    raise UnknownCalendar(f"country {country} has no subdivision {subdivision!r} in its holiday calendar")


def calendar_zone(country: str, subdivision: str | None = None) -> str | None:
    """The IANA zone of the sites of (country, canonical subdivision); None for a country this table lacks."""
    country = country.upper()
    return _ZONES.get((country, subdivision)) or _ZONES.get((country, None))


@lru_cache(maxsize=64)
def has_regional_holidays(country: str) -> bool:
    """Whether some subdivision of ``country`` keeps holidays the nation does not (in a sample year)."""
    entity = holidays.country_holidays(country.upper(), years=())
    national = set(holidays.country_holidays(country.upper(), years=2026))
    return any(
        set(holidays.country_holidays(country.upper(), subdiv=code, years=2026)) != national
        for code in getattr(entity, "subdivisions", ())
    )


def country_zones(country: str) -> frozenset[str]:
    """Every zone ``calendar_zone`` gives in ``country``; empty for a country it does not know."""
    return _COUNTRY_ZONES.get(country.upper(), frozenset())


def default_time_zone(country: str, subdivision: str | None = None) -> str:
    """The IANA zone where days of (country, subdivision) begin; UTC for countries this table lacks."""
    return calendar_zone(country, subdivision) or "UTC"


class BusinessCalendar:
    """Business days of one country and subdivision; immutable apart from its per-year holiday cache.

    Build it with ``calendar_for`` so that instances are shared.
    """

    __slots__ = ("_by_year", "_closures", "_holidays", "_weekdays", "country", "subdivision", "time_zone", "work")

    def __init__(
        self,
        country: str,
        subdivision: str | None = None,
        time_zone: str | None = None,
        work: WorkRules = STANDARD_WORK,
    ) -> None:
        self.work = work
        self._weekdays = work.weekdays
        self._closures = bool(work.closed or work.closed_every_year)
        self.country = country.upper()
        self.subdivision = canonical_subdivision(self.country, subdivision)
        self.time_zone = time_zone or default_time_zone(self.country, self.subdivision)
        zone(self.time_zone)  # fail early on an unknown zone
        self._holidays = holidays.country_holidays(self.country, subdiv=self.subdivision, years=())
        self._by_year: dict[int, frozenset[date]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r}, {self.subdivision!r}, {self.time_zone!r}, {self.work!r})"

    def holidays_in(self, year: int) -> frozenset[date]:
        """The public holidays of ``year`` (weekend holidays included)."""
        found = self._by_year.get(year)
        if found is None:
            # Probing one date makes the library compute the whole year; the frozen copy turns later
            # lookups into a set probe, much cheaper than the library's own key handling.
            self._holidays.get(date(year, 1, 1))
            found = frozenset(d for d in self._holidays if d.year == year)
            self._by_year[year] = found
        return found

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on ``day``, or None."""
        if day not in self.holidays_in(day.year):
            return None
        name: str | None = self._holidays.get(day)
        return name

    def is_business_day(self, day: date) -> bool:
        """A working day of the week (Monday to Friday unless the rules say otherwise), not a public holiday,
        not a closure."""
        return (
            day.weekday() in self._weekdays
            and day not in self.holidays_in(day.year)
            and not (self._closures and self.work.is_closed(day))
        )

    def day_off(self, day: date) -> str | None:
        """Why ``day`` is not a business day ("Good Friday", "closed", "Sunday"), or None when it is one."""
        holiday = self.holiday_name(day)
        if holiday is not None:
            return holiday
        if self._closures and self.work.is_closed(day):
            return "closed"
        if day.weekday() not in self._weekdays:
            return f"{day:%A}, not a working day"
        return None

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def on_or_after(self, day: date) -> date:
        """``day`` if it is a business day, else the next one."""
        return day if self.is_business_day(day) else self.next_business_day(day)

    def add_business_days(self, day: date, count: int) -> date:
        """The date ``count`` business days after ``day`` (``day`` itself not counted; 0 returns ``day``).

        A negative ``count`` counts backwards.
        """
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_business_day(day):
                remaining -= 1
        return day

    def business_days_between(self, start: datetime, end: datetime) -> float:
        """Business time elapsed from ``start`` to ``end``, in business days, as a turnaround clock reads it.

        Both instants are read in the calendar's time zone. Every business day contributes the fraction of
        its local length (23, 24 or 25 hours) that lies between the two instants; weekends and holidays
        contribute nothing. A parcel collected on Monday at 12:00 and delivered on Wednesday at 12:00 took
        2.0 business days; one collected on Friday at 18:00 and delivered on Monday at 09:00 took
        0.25 + 0.375.
        The result is negative when ``end`` is before ``start``.
        """
        if end < start:
            return -self.business_days_between(end, start)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = 0.0
        day, last = to_local(start, self.time_zone).date(), to_local(end, self.time_zone).date()
        while day <= last:
            if self.is_business_day(day):
                # Arithmetic on aware datetimes sharing one tzinfo ignores offsets, so measure in UTC.
                day_start = local_instant(day, time(0), self.time_zone)
                day_end = local_instant(day + timedelta(days=1), time(0), self.time_zone)
                lo, hi = max(day_start, start), min(day_end, end)
                if hi > lo:
                    total += (hi - lo) / (day_end - day_start)
            day += timedelta(days=1)
        return total


@lru_cache(maxsize=512)
def _calendar(country: str, subdivision: str | None, time_zone: str | None, work: WorkRules) -> BusinessCalendar:
    return BusinessCalendar(country, subdivision, time_zone, work)


def calendar_for(
    country: str, subdivision: str | None = None, time_zone: str | None = None, work: WorkRules = STANDARD_WORK
) -> BusinessCalendar:
    """The shared calendar of (country, subdivision), its days read in ``time_zone`` (default per country),
    with ``work``'s working days and closures.

    Raises ``UnknownCalendar`` for a country or subdivision the holidays library does not know.
    """
    country = country.upper()
    return _calendar(country, canonical_subdivision(country, subdivision), time_zone, work)
