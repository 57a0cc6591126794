"""The calendar and time zone of a site, decided by its address: what routing counts business days in.

The rule, in order:

1. Where the postal code decides the subdivision (``subdivisions.derive``), that subdivision it is. A
   subdivision the site gives must agree with it (the library's code, an alias, the ISO 3166-2 form such
   as "DE-BY", or for France the department): one that contradicts the postal code, or that the calendar
   does not know, refuses the request with a reason naming ``site.subdivision``; it is never replaced by
   the national calendar.
2. Where the postal code does not decide (a district on a border, a German postal region across Länder,
   Switzerland), the site's own subdivision; else the region's ``calendar_subdivision`` or
   ``subdivision`` when the postal code allows it; else the usual calendar of the postal code; else the
   national calendar, which a ``calendar.national`` reason states.
3. The zone is the calendar's own (Réunion's sites are in Indian/Reunion whatever region serves them); a
   region's ``time_zone`` is used only in countries whose zones the service does not know.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from logistics.domain.routing.calendar import (
    UnknownCalendar,
    calendar_zone,
    canonical_subdivision,
    has_regional_holidays,
)
from logistics.domain.routing.outcome import Reason, reason
from logistics.domain.routing.postal_index import normalise_postal_code
from logistics.domain.routing.subdivisions import Derived, calendar_probes, derive, pattern_probe

if TYPE_CHECKING:
    from logistics.domain.routing.coverage import Coverage

CalendarSource = Literal["postal_code", "site", "region", "national"]


@dataclass(frozen=True, slots=True)
class AddressCalendar:
    """What the address alone says: the subdivision (canonical code) if decided, and how."""

    country: str
    subdivision: str | None
    source: CalendarSource
    derived: Derived | None

    @property
    def decided(self) -> bool:
        return self.source == "site" or (
            self.source == "postal_code" and self.derived is not None and self.derived.determined
        )

    def region_keys(self) -> tuple[str, ...]:
        """Subdivisions a subdivision-scoped region may be written with to serve this site."""
        keys = (self.subdivision,) if self.subdivision else ()
        return keys + tuple(sorted(self.derived.accepted)) if self.derived else keys


@dataclass(frozen=True, slots=True)
class SiteCalendar:
    """The calendar (country, canonical subdivision) and zone a site's days are counted in."""

    country: str
    subdivision: str | None
    time_zone: str
    source: CalendarSource
    place: str | None  # what decided it: "department 67", "postcode district TD12"
    notes: tuple[Reason, ...] = ()

    def describe(self) -> str:
        name = f"{self.country}-{self.subdivision}" if self.subdivision else f"{self.country} (national)"
        return f"{name}, {self.time_zone}"


def _strip_iso(country: str, given: str) -> str:
    named, dash, rest = given.strip().partition("-")
    return rest.upper() if dash and named.upper() == country else given.strip().upper()


def read_address(country: str, postal_code: str, given: str | None) -> AddressCalendar | Reason:
    """The calendar the address decides, or the refusal (a reason naming the field) when it contradicts."""
    derived = derive(country, normalise_postal_code(postal_code))
    if derived is not None and derived.foreign is not None:
        return reason(
            code="site.postal_code_in_other_country",
            message=(
                f"site.postal_code {postal_code!r} is in {derived.place}, which is country {derived.foreign}, "
                f"not {country}: give country {derived.foreign}."
            ),
        )
    if not given or not given.strip():
        if derived is None:
            return AddressCalendar(country, None, "national", None)
        return AddressCalendar(country, derived.calendars[0], "postal_code", derived)
    try:
        resolved = canonical_subdivision(country, given)
    except UnknownCalendar:
        if derived is None or _strip_iso(country, given) not in derived.accepted:
            return reason(
                code="site.subdivision_unknown",
                message=(
                    f"site.subdivision {given!r} is not a subdivision of {country} that the holiday calendar "
                    f"knows; give its ISO 3166-2 form (e.g. DE-BY) or leave it out."
                ),
            )
        resolved = derived.calendars[0]
    if derived is not None and resolved in derived.accepted:
        resolved = derived.calendars[0]
    if derived is not None and resolved not in derived.calendars:
        usual = _calendar_name(country, derived.calendars[0])
        return reason(
            code="site.subdivision_contradicts_postal_code",
            message=(
                f"site.subdivision {given!r} ({_calendar_name(country, resolved)}) contradicts "
                f"site.postal_code {postal_code!r}, which is in {derived.place} ({usual})."
            ),
        )
    return AddressCalendar(country, resolved, "postal_code" if derived and derived.determined else "site", derived)


def site_calendar(
    address: AddressCalendar, region_subdivision: str | None, region_zone: str | None
) -> SiteCalendar | Reason:
    """The site's calendar and zone, given the region that serves it (see the module's rule)."""
    country, derived = address.country, address.derived
    place = derived.place if derived is not None else None
    notes: list[Reason] = []
    subdivision, source = address.subdivision, address.source
    if not address.decided:
        preferred = _canonical(country, region_subdivision)
        if preferred is not None and (derived is None or preferred in derived.calendars):
            subdivision, source = preferred, "region"
        elif derived is not None and len(derived.calendars) > 1 and not derived.local_choices:
            notes.append(
                reason(
                    code="calendar.subdivision_assumed",
                    message=(
                        f"{derived.place} lies in more than one calendar "
                        f"({', '.join(_calendar_name(country, c) for c in derived.calendars)}); "
                        f"{_calendar_name(country, subdivision)} is assumed. Give site.subdivision to choose."
                    ),
                )
            )
        elif derived is None and has_regional_holidays(country):
            notes.append(
                reason(
                    code="calendar.national",
                    message=(
                        f"The postal code does not tell the subdivision and the site gives none: "
                        f"{country}'s national holidays apply. Give site.subdivision for regional holidays."
                    ),
                )
            )
    zone = calendar_zone(country, subdivision) or region_zone
    if zone is None:
        return reason(
            code="coverage.no_time_zone",
            message=f"No time zone is known for {country}: the coverage region must give one.",
        )
    return SiteCalendar(country, subdivision, zone, source, place, tuple(notes))


def _canonical(country: str, subdivision: str | None) -> str | None:
    try:
        return canonical_subdivision(country, subdivision)
    except UnknownCalendar:
        return None


def _calendar_name(country: str, subdivision: str | None) -> str:
    return f"calendar {country}-{subdivision}" if subdivision else f"the national calendar of {country}"


@dataclass(frozen=True, slots=True)
class CalendarUse:
    """The calendars a region's sites keep, each with the places that keep it."""

    region_id: str
    calendars: dict[str, list[str]]
    region_calendar: str | None  # the calendar the region names, if it names one
    contradicting: list[str]  # places whose address decides another calendar than the one the region names


def calendars_used(coverage: Coverage) -> list[CalendarUse]:
    """For each region: the calendars its sites will keep and where, as routing will decide them.

    Every area where a postal code decides a calendar, and the start of each of a region's own postal
    patterns, is looked up as a site there would be, so the answer takes more specific regions into account.
    """
    uses: dict[str, CalendarUse] = {}
    for country in sorted(coverage.countries()):
        probes = list(calendar_probes(country))
        for region in coverage.regions.values():
            if region.country != country:
                continue
            for pattern in region.patterns:
                code = pattern_probe(country, pattern.low)
                if code is not None:
                    probes.append((code, f"postal code {code}"))
        for code, place in probes:
            address = read_address(country, code, None)
            if isinstance(address, Reason):
                continue
            match = coverage.region_for(country, code, address.region_keys())
            if match is None:
                continue
            region = match.region
            found = site_calendar(address, region.holiday_subdivision, region.time_zone)
            if isinstance(found, Reason):
                continue
            named = _canonical(country, region.holiday_subdivision)
            use = uses.setdefault(
                region.id,
                CalendarUse(region.id, {}, f"{country}-{named}" if named else None, []),
            )
            places = use.calendars.setdefault(found.describe(), [])
            if place not in places:
                places.append(place)
            refines = address.derived is not None and named in address.derived.accepted  # Augsburg in BY
            if named is not None and found.source == "postal_code" and found.subdivision != named and not refines:
                use.contradicting.append(f"{place} ({found.describe()})")
    return list(uses.values())


def calendars_spanned(coverage: Coverage) -> dict[str, dict[str, list[str]]]:
    """For each region whose sites fall in more than one calendar: calendar -> the places that use it."""
    return {use.region_id: use.calendars for use in calendars_used(coverage) if len(use.calendars) > 1}
