"""The coverage: repair centres, the regions they serve, and the index that finds a site's region.

``Coverage.from_document`` turns a parsed coverage document (a mapping, as YAML or JSON gives it) into an
indexed, immutable coverage, or raises ``CoverageInvalid`` listing *every* problem found, each naming its
entry (``regions[12]``), the entry's id and the field. Reading files is not done here (see
``logistics.coverage``).

A site's region is found, most specific first, by (1) the postal patterns of its country (see
``postal_index`` for the specificity rule), (2) a region scoped to the site's subdivision with no postal
patterns, (3) the country-wide region (no subdivision, no postal patterns). Two regions competing at the
same level for the same codes are an ambiguous overlap, reported when the coverage is built.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from logistics.domain.routing.calendar import (
    STANDARD_WORK,
    WEEKDAYS,
    UnknownCalendar,
    WorkRules,
    calendar_for,
    country_zones,
)
from logistics.domain.routing.local_time import is_valid_zone
from logistics.domain.routing.outcome import TurnaroundTargets
from logistics.domain.routing.postal_index import (
    CountryPostalIndex,
    PostalPattern,
    build_postal_index,
    normalise_postal_code,
)
from logistics.domain.routing.request import ISO_COUNTRY, ProductLine, ServiceLevel, SiteAddress

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
CARRIER_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


def _local_time(value: object) -> object:
    """Accept 'HH:MM' strings (and times); refuse numbers, which YAML 1.1 makes of unquoted 16:00."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _HH_MM.match(value):
        return value
    if isinstance(value, int | float):
        raise ValueError(f"got the number {value!r}: write local times as quoted 'HH:MM' strings")
    raise ValueError(f"expected a local time 'HH:MM', got {value!r}")


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": _HH_MM.pattern, "description": "local time, quoted 'HH:MM'"}),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_zone(value: str) -> str:
    if not is_valid_zone(value):
        raise ValueError(f"unknown IANA time zone {value!r}")
    return value


class CalendarSpec(_Frozen):
    """The public-holiday calendar a centre or region works by."""

    country: str = Field(pattern=ISO_COUNTRY)
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> Self:
        try:
            calendar_for(self.country, self.subdivision)
        except UnknownCalendar as exc:
            raise ValueError(str(exc)) from exc
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DATE = r"\d{4}-\d{2}-\d{2}"
_MONTH_DAY = r"\d{2}-\d{2}"
_CLOSED = re.compile(rf"^(?:({_DATE})(?:\.\.({_DATE}))?|({_MONTH_DAY})(?:\.\.({_MONTH_DAY}))?)$")


def _month_day(text: str) -> tuple[int, int]:
    month, day = int(text[:2]), int(text[3:])
    date(2024, month, day)  # a leap year: 02-29 is a valid yearly date
    return month, day


class WorkDays(_Frozen):
    """The working days of the week and the own closures of a region or a centre, on top of public holidays.

    ``closed`` entries: a date ("2026-08-14"), a range of dates ("2026-12-24..2027-01-01"), or a day or
    range of days every year ("12-24..01-01", which runs over the new year).
    """

    working_days: tuple[Weekday, ...] = Field(default=("mon", "tue", "wed", "thu", "fri"), min_length=1)
    closed: tuple[Annotated[str, Field(pattern=_CLOSED.pattern)], ...] = ()
    _rules: WorkRules = PrivateAttr(default=STANDARD_WORK)

    @field_validator("closed")
    @classmethod
    def _closures(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            first, last = _closure(text)
            if isinstance(first, date) and isinstance(last, date) and last < first:
                raise ValueError(f"closure {text!r} ends before it starts")
        return value

    def model_post_init(self, context: Any, /) -> None:
        dated: list[tuple[date, date]] = []
        yearly: list[tuple[tuple[int, int], tuple[int, int]]] = []
        for text in self.closed:
            first, last = _closure(text)
            if isinstance(first, date) and isinstance(last, date):
                dated.append((first, last))
            elif isinstance(first, tuple) and isinstance(last, tuple):
                yearly.append((first, last))
        weekdays = frozenset(WEEKDAYS.index(day) for day in self.working_days)
        self._rules = WorkRules(weekdays, tuple(dated), tuple(yearly))

    @property
    def rules(self) -> WorkRules:
        return self._rules


def _closure(text: str) -> tuple[date, date] | tuple[tuple[int, int], tuple[int, int]]:
    match = _CLOSED.match(text)
    if match is None:
        raise ValueError(f"closure {text!r} is not a date, a range of dates, 'MM-DD' or 'MM-DD..MM-DD'")
    first_date, last_date, first_day, last_day = match.groups()
    try:
        if first_date is not None:
            return date.fromisoformat(first_date), date.fromisoformat(last_date or first_date)
        return _month_day(first_day), _month_day(last_day or first_day)
    except ValueError as exc:
        raise ValueError(f"closure {text!r}: {exc}") from exc


class RepairCentre(_Frozen):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=70)
    address: SiteAddress
    time_zone: str
    carriers: tuple[Annotated[str, Field(pattern=CARRIER_PATTERN)], ...] = Field(min_length=1)
    calendar: CalendarSpec
    business_days: WorkDays = WorkDays()

    _zone = field_validator("time_zone")(_check_zone)


class PickupWindow(_Frozen):
    """Local times between which the courier may come."""

    ready: LocalTime
    close: LocalTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.close <= self.ready:
            raise ValueError("close must be after ready")
        return self


class CourierPickup(_Frozen):
    """Courier pickup terms of a region: lead time in business days, the daily local cut-off, the window."""

    carrier: str = Field(pattern=CARRIER_PATTERN)
    lead_time_business_days: int = Field(ge=0, le=10)
    cut_off: LocalTime
    window: PickupWindow

    @model_validator(mode="after")
    def _same_day_possible(self) -> Self:
        # With no lead time the courier comes the day of the request, so the cut-off must leave a window.
        if self.lead_time_business_days == 0 and self.cut_off >= self.window.close:
            raise ValueError("with a lead time of 0, cut_off must be before window.close")
        return self


class SelfShipment(_Frozen):
    """Self-shipment terms: the label's carrier, where to drop the parcel, how long the customer has.

    ``drop_off`` is written in ``drop_off_language``; ``drop_off_by_language`` gives the same text in other
    languages (by two-letter code), printed on the labels of customers who speak them.
    """

    carrier: str = Field(pattern=CARRIER_PATTERN)
    drop_off: str = Field(min_length=1, max_length=1000)
    drop_off_language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    drop_off_by_language: Mapping[
        Annotated[str, Field(pattern=r"^[a-z]{2}$")], Annotated[str, Field(min_length=1, max_length=1000)]
    ] = Field(default_factory=dict)
    ship_within_business_days: int = Field(default=5, ge=1, le=30)

    def drop_off_with_language(self, language: str) -> tuple[str, str]:
        """The drop-off text for a customer speaking ``language`` and the language it is written in:
        the translation when there is one, else the text as written."""
        if language == self.drop_off_language:
            return self.drop_off, language
        translated = self.drop_off_by_language.get(language)
        return (translated, language) if translated is not None else (self.drop_off, self.drop_off_language)

    def drop_off_in(self, language: str | None) -> str:
        """The drop-off text in ``language`` ("fr", or "fr-CA" read as "fr"), else the default text."""
        if language:
            return self.drop_off_by_language.get(language[:2].lower(), self.drop_off)
        return self.drop_off


class Region(_Frozen):
    """A served area: a country, optionally a subdivision, optionally postal patterns, and its terms.

    With no ``postal_codes``, ``subdivision`` selects the sites in that subdivision (the one their postal
    code decides, else the one they give). The calendar and time zone of a site follow its address
    (``site_calendar``); ``calendar_subdivision`` (else ``subdivision``) is the calendar of the region's
    sites only where the address does not decide one. ``time_zone`` is needed only in a country whose zones
    the service does not know; elsewhere it must be one of the country's zones and is only a default.
    ``courier_pickup`` absent means the customer ships. ``business_days``: the region's working days (Saturday
    pickups) and closures, honoured in slots, ship-by dates and turnaround clocks.
    """

    id: str = Field(pattern=ID_PATTERN)
    country: str = Field(pattern=ISO_COUNTRY)
    subdivision: str | None = Field(default=None, max_length=20)
    calendar_subdivision: str | None = Field(default=None, max_length=20)
    postal_codes: tuple[str, ...] = ()
    time_zone: str | None = None
    courier_pickup: CourierPickup | None = None
    self_shipment: SelfShipment | None = None
    return_carrier: str = Field(pattern=CARRIER_PATTERN)
    repair_centre: str = Field(pattern=ID_PATTERN)
    repair_centre_by_product_line: Mapping[ProductLine, Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=dict
    )
    turnaround: TurnaroundTargets
    business_days: WorkDays = WorkDays()
    support_phone: str | None = Field(
        default=None, min_length=4, max_length=25, description="the support line customers of the region call"
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)

    @field_validator("postal_codes")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            PostalPattern.parse(text)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.courier_pickup is None and self.self_shipment is None:
            raise ValueError("a region needs courier_pickup, self_shipment or both")
        try:
            calendar_for(self.country, self.subdivision)
            calendar_for(self.country, self.calendar_subdivision)
        except UnknownCalendar as exc:
            raise ValueError(str(exc)) from exc
        zones = country_zones(self.country)
        if not zones and self.time_zone is None:
            raise ValueError(f"time_zone is required: the service knows no time zone of {self.country}")
        if zones and self.time_zone is not None and self.time_zone not in zones:
            raise ValueError(
                f"time_zone {self.time_zone!r} is not a zone of {self.country} ({', '.join(sorted(zones))}); "
                f"sites keep the zone of their own calendar, so time_zone may be left out"
            )
        return self

    @property
    def holiday_subdivision(self) -> str | None:
        """The subdivision whose holidays the region's sites keep, when the region fixes one."""
        return self.calendar_subdivision or self.subdivision

    @property
    def patterns(self) -> tuple[PostalPattern, ...]:
        return tuple(PostalPattern.parse(text) for text in self.postal_codes)

    @property
    def service_levels(self) -> frozenset[ServiceLevel]:
        """The service levels this region can honour as asked."""
        offered = {ServiceLevel.EITHER}
        if self.courier_pickup is not None:
            offered.add(ServiceLevel.PICKUP_AND_RETURN)
        if self.self_shipment is not None:
            offered.add(ServiceLevel.CUSTOMER_SHIP)
        return frozenset(offered)

    def centre_for(self, product_line: ProductLine) -> str:
        """The designated repair centre for ``product_line``."""
        return self.repair_centre_by_product_line.get(product_line, self.repair_centre)

    def carriers(self) -> frozenset[str]:
        used = {self.return_carrier}
        if self.courier_pickup is not None:
            used.add(self.courier_pickup.carrier)
        if self.self_shipment is not None:
            used.add(self.self_shipment.carrier)
        return frozenset(used)


@dataclass(frozen=True, slots=True)
class CoverageProblem:
    """One thing wrong in a coverage document, located by entry, entry id and field."""

    message: str
    entry: str | None = None  # "regions[12]"
    entry_id: str | None = None
    field: str | None = None  # "courier_pickup.cut_off"

    def __str__(self) -> str:
        where = []
        if self.entry is not None:
            where.append(self.entry + (f" id {self.entry_id!r}" if self.entry_id else ""))
        if self.field:
            where.append(f"field {self.field!r}")
        return (", ".join(where) + ": " if where else "") + self.message


class CoverageInvalid(ValueError):
    """A coverage document that cannot be used; ``problems`` lists all that was found."""

    def __init__(self, problems: Iterable[CoverageProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


MatchLevel = Literal["postal_code", "subdivision", "country"]


@dataclass(frozen=True, slots=True)
class RegionMatch:
    region: Region
    level: MatchLevel
    pattern: str | None = None  # the postal pattern as written, for a postal match


class Coverage:
    """Repair centres and regions, indexed for lookup by (country, postal code, subdivision)."""

    __slots__ = ("_by_country", "_by_subdivision", "_postal", "centres", "regions")

    def __init__(
        self,
        centres: Mapping[str, RepairCentre],
        regions: Mapping[str, Region],
        postal: Mapping[str, CountryPostalIndex],
        by_subdivision: Mapping[tuple[str, str], str],
        by_country: Mapping[str, str],
    ) -> None:
        self.centres: Mapping[str, RepairCentre] = MappingProxyType(dict(centres))
        self.regions: Mapping[str, Region] = MappingProxyType(dict(regions))
        self._postal = postal
        self._by_subdivision = MappingProxyType(dict(by_subdivision))
        self._by_country = MappingProxyType(dict(by_country))

    @classmethod
    def from_document(cls, document: Mapping[str, Any], known_carriers: Collection[str] | None = None) -> Self:
        """Validate and index a parsed coverage document; raises ``CoverageInvalid`` with every problem.

        ``known_carriers``, when given, are the carrier plug-in names the service can use.
        """
        return cls._build(document, known_carriers)

    @classmethod
    def check_document(
        cls, document: Mapping[str, Any], known_carriers: Collection[str] | None = None
    ) -> tuple[CoverageProblem, ...]:
        """Every problem of ``document``; empty when it would load."""
        try:
            cls._build(document, known_carriers)
        except CoverageInvalid as exc:
            return exc.problems
        return ()

    @classmethod
    def _build(cls, document: Mapping[str, Any], known_carriers: Collection[str] | None) -> Self:
        problems: list[CoverageProblem] = []
        if not isinstance(document, Mapping):
            raise CoverageInvalid([CoverageProblem("the document must be a mapping with centres and regions")])
        # "x-" keys hold YAML anchors shared by entries (like OpenAPI's extensions); they are not read.
        extra = {key for key in document if not (isinstance(key, str) and key.startswith("x-"))}
        for key in sorted(extra - {"version", "centres", "regions"}, key=str):
            problems.append(CoverageProblem(f"unknown top-level key {key!r}", field=str(key)))
        if document.get("version", 1) != 1:
            problems.append(CoverageProblem("only version 1 is understood", field="version"))
        centres = _parse_entries(document, "centres", RepairCentre, problems)
        regions = _parse_entries(document, "regions", Region, problems)
        centre_by_id: dict[str, RepairCentre] = {}
        for (entry, _), centre in centres:
            if centre.id in centre_by_id:
                problems.append(CoverageProblem("duplicate centre id", entry, centre.id, "id"))
            centre_by_id[centre.id] = centre
            for carrier in centre.carriers:
                if known_carriers is not None and carrier not in known_carriers:
                    problems.append(CoverageProblem(f"unknown carrier {carrier!r}", entry, centre.id, "carriers"))
        region_by_id: dict[str, Region] = {}
        for (entry, _), region in regions:
            if region.id in region_by_id:
                problems.append(CoverageProblem("duplicate region id", entry, region.id, "id"))
                continue
            region_by_id[region.id] = region
            problems.extend(_cross_check(entry, region, centre_by_id, known_carriers))
        if not centre_by_id and "centres" in document:
            problems.append(CoverageProblem("no usable repair centre", field="centres"))
        entry_of = {region.id: entry for (entry, _), region in regions}
        build = build_postal_index(
            (region.country, region.id, pattern) for region in region_by_id.values() for pattern in region.patterns
        )
        for overlap in build.overlaps:
            problems.append(
                CoverageProblem(
                    overlap.describe(),
                    entry_of[overlap.second.region_id],
                    overlap.second.region_id,
                    "postal_codes",
                )
            )
        problems.extend(CoverageProblem(text, field="regions") for text in build.problems)
        by_subdivision: dict[tuple[str, str], str] = {}
        by_country: dict[str, str] = {}
        for region in region_by_id.values():
            if region.postal_codes:
                continue
            if region.subdivision is not None:
                scoped = (region.country, _subdivision_key(region.country, region.subdivision))
                held = by_subdivision.setdefault(scoped, region.id)
                scope = f"subdivision {region.country}-{region.subdivision}"
            else:
                held = by_country.setdefault(region.country, region.id)
                scope = f"country {region.country}"
            if held != region.id:
                problems.append(
                    CoverageProblem(
                        f"ambiguous overlap: regions {held!r} and {region.id!r} both cover the whole {scope}",
                        entry_of[region.id],
                        region.id,
                        "postal_codes",
                    )
                )
        if problems:
            raise CoverageInvalid(problems)
        return cls(centre_by_id, region_by_id, build.index, by_subdivision, by_country)

    def region_for(
        self, country: str, postal_code: str, subdivision: str | tuple[str, ...] | None = None
    ) -> RegionMatch | None:
        """The region serving a site, most specific first; None when the site is not covered.

        ``subdivision`` is the site's (canonical) subdivision, or several codes it may be written with.
        """
        country = country.upper()
        index = self._postal.get(country)
        if index is not None:
            found = index.lookup(normalise_postal_code(postal_code))
            if found is not None:
                return RegionMatch(self.regions[found.region_id], "postal_code", found.pattern.text)
        if subdivision and self._by_subdivision:
            for code in (subdivision,) if isinstance(subdivision, str) else subdivision:
                region_id = self._by_subdivision.get((country, _subdivision_key(country, code)))
                if region_id is not None:
                    return RegionMatch(self.regions[region_id], "subdivision")
        region_id = self._by_country.get(country)
        if region_id is not None:
            return RegionMatch(self.regions[region_id], "country")
        return None

    def countries(self) -> frozenset[str]:
        return frozenset(region.country for region in self.regions.values())


def _subdivision_key(country: str, subdivision: str) -> str:
    """Subdivisions compare by the calendar's canonical code, so 'Bayern' finds a region written 'BY'."""
    try:
        return calendar_for(country, subdivision).subdivision or subdivision.upper()
    except UnknownCalendar:
        return subdivision.upper()


_M = TypeVar("_M", bound=BaseModel)


def _parse_entries(
    document: Mapping[str, Any], key: str, model: type[_M], problems: list[CoverageProblem]
) -> list[tuple[tuple[str, int], _M]]:
    raw = document.get(key)
    if raw is None:
        problems.append(CoverageProblem(f"missing {key!r} list", field=key))
        return []
    if not isinstance(raw, list):
        problems.append(CoverageProblem(f"{key!r} must be a list", field=key))
        return []
    parsed: list[tuple[tuple[str, int], _M]] = []
    for i, item in enumerate(raw):
        entry = f"{key}[{i}]"
        entry_id = item.get("id") if isinstance(item, Mapping) else None
        entry_id = entry_id if isinstance(entry_id, str) else None
        try:
            parsed.append(((entry, i), model.model_validate(item)))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"])
                problems.append(CoverageProblem(_clean(error["msg"]), entry, entry_id, field or None))
    return parsed


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _cross_check(
    entry: str, region: Region, centres: Mapping[str, RepairCentre], known_carriers: Collection[str] | None
) -> list[CoverageProblem]:
    problems: list[CoverageProblem] = []
    designated = {"repair_centre": region.repair_centre} | {
        f"repair_centre_by_product_line.{line.value}": centre_id
        for line, centre_id in region.repair_centre_by_product_line.items()
    }
    for field, centre_id in designated.items():
        centre = centres.get(centre_id)
        if centre is None:
            problems.append(CoverageProblem(f"unknown repair centre {centre_id!r}", entry, region.id, field))
            continue
        missing = sorted(region.carriers() - set(centre.carriers))
        if missing:
            problems.append(
                CoverageProblem(
                    f"repair centre {centre_id!r} does not ship with {', '.join(missing)}",
                    entry,
                    region.id,
                    field,
                )
            )
    if known_carriers is not None:
        for field, carrier in _carrier_fields(region):
            if carrier not in known_carriers:
                problems.append(CoverageProblem(f"unknown carrier {carrier!r}", entry, region.id, field))
    return problems


def _carrier_fields(region: Region) -> list[tuple[str, str]]:
    fields = [("return_carrier", region.return_carrier)]
    if region.courier_pickup is not None:
        fields.append(("courier_pickup.carrier", region.courier_pickup.carrier))
    if region.self_shipment is not None:
        fields.append(("self_shipment.carrier", region.self_shipment.carrier))
    return fields
