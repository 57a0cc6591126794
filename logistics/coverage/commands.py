"""Command functions behind ``logistics coverage check FILE``, ``coverage explain`` and ``coverage schema``.

Each ``add_*_arguments`` fills an argparse (sub)parser; each ``run_*`` takes plain values, prints to
``out`` (standard output by default) and returns the exit code: 0 success, 1 problems found or request
refused, 2 unusable input (unreadable or invalid coverage file, invalid request).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from logistics.coverage.loading import CoverageError, check_coverage, load_coverage
from logistics.coverage.sample import SAMPLE_COVERAGE_PATH
from logistics.coverage.schema import coverage_schema
from logistics.domain.routing import (
    Coverage,
    Device,
    Entitlement,
    Item,
    ItemKind,
    ProductLine,
    RoutingDecision,
    RoutingRequest,
    ServiceLevel,
    SiteAddress,
    calendar_for,
    decide,
)
from logistics.domain.routing.local_time import to_local
from logistics.domain.routing.site_calendar import calendars_used

OPTIONS = {
    "dmr": "defective_media_retention",
    "adp": "accidental_damage_protection",
    "peripheral-pack": "peripheral_care_pack",
}


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="coverage file (YAML) to check")
    parser.add_argument(
        "--carriers",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=None,
        help="comma-separated carrier names the service has; when given, other names are reported",
    )


def report_problems(path: Path, problems: Sequence[str], out: TextIO) -> None:
    """The report of a coverage file that cannot be used: ``coverage check`` and ``serve`` print the same."""
    print(f"{path}: {len(problems)} problem(s)", file=out)
    for problem in problems:
        print(f"  - {problem}", file=out)


def calendar_warnings(coverage: Coverage, shown: int = 16) -> list[str]:
    """One warning per region whose sites keep more than one holiday calendar, saying which where, and one
    per region that names a calendar its postal codes contradict."""
    warnings = []
    for use in sorted(calendars_used(coverage), key=lambda u: u.region_id):
        if use.contradicting:
            warnings.append(
                f"region {use.region_id!r} names calendar {use.region_calendar}, but the address decides "
                f"another for {'; '.join(use.contradicting[:shown])}: those sites keep their own"
            )
        if len(use.calendars) > 1:
            uses = [f"{calendar} for {_places(places)}" for calendar, places in use.calendars.items()]
            more = f"; and {len(uses) - shown} more" if len(uses) > shown else ""
            warnings.append(
                f"region {use.region_id!r} spans {len(use.calendars)} holiday calendars, each site keeps its own: "
                f"{'; '.join(uses[:shown])}{more}"
            )
    return warnings


def _places(places: list[str]) -> str:
    """'department 67, 68' for ['department 67', 'department 68']."""
    heads = {place.rsplit(" ", 1)[0] for place in places}
    if len(places) > 1 and len(heads) == 1 and all(" " in place for place in places):
        return f"{heads.pop()} {', '.join(place.rsplit(' ', 1)[1] for place in places)}"
    return ", ".join(places)


def run_check(path: Path, known_carriers: Collection[str] | None = None, out: TextIO | None = None) -> int:
    """Print every problem of the coverage file, or OK with its size and warnings; 0 when it loads, else 1."""
    out = out or sys.stdout
    problems = check_coverage(path, known_carriers)
    if problems:
        report_problems(path, problems, out)
        return 1
    coverage = load_coverage(path, known_carriers)
    print(
        f"{path}: OK, {len(coverage.centres)} repair centres, {len(coverage.regions)} regions, "
        f"countries {', '.join(sorted(coverage.countries()))}",
        file=out,
    )
    for warning in calendar_warnings(coverage):
        print(f"  warning: {warning}", file=out)
    return 0


def run_schema(out: TextIO | None = None) -> int:
    """Print the coverage file's JSON Schema."""
    print(json.dumps(coverage_schema(), indent=2, ensure_ascii=False), file=out or sys.stdout)
    return 0


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2025-04-18T09:30:00+02:00")
    return value.astimezone(UTC)


def _item(text: str) -> Item:
    """'external_monitor' or 'external_monitor:2'."""
    kind, _, quantity = text.partition(":")
    try:
        return Item(kind=ItemKind(kind), quantity=int(quantity or 1))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad item {text!r}: {exc}") from exc


def add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--coverage", type=Path, default=None, help="coverage file (default: the bundled sample coverage)"
    )
    parser.add_argument("--country", required=True, help="ISO 3166-1 alpha-2 country of the site")
    parser.add_argument("--postal-code", required=True)
    parser.add_argument(
        "--subdivision",
        default=None,
        help="the site's subdivision, if it gives one: DE-BY, BY or Bayern; checked against the postal code",
    )
    parser.add_argument("--product-line", type=ProductLine, choices=list(ProductLine), default=ProductLine.NOTEBOOK)
    parser.add_argument("--service-level", type=ServiceLevel, choices=list(ServiceLevel), default=ServiceLevel.EITHER)
    parser.add_argument("--country-of-purchase", default=None, help="default: the site's country")
    parser.add_argument("--option", action="append", choices=sorted(OPTIONS), default=[], dest="options")
    parser.add_argument(
        "--item",
        action="append",
        type=_item,
        default=[],
        dest="items",
        help=f"KIND[:QUANTITY], repeatable; kinds: {', '.join(ItemKind)}",
    )
    parser.add_argument("--preferred-date", type=date.fromisoformat, default=None)
    parser.add_argument(
        "--at",
        type=_instant,
        default=None,
        help="instant of the request, ISO 8601 with offset (default: now)",
    )
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")


def run_explain(
    *,
    country: str,
    postal_code: str,
    at: datetime,
    coverage_path: Path | None = None,
    subdivision: str | None = None,
    product_line: ProductLine = ProductLine.NOTEBOOK,
    service_level: ServiceLevel = ServiceLevel.EITHER,
    country_of_purchase: str | None = None,
    options: Sequence[str] = (),
    items: Sequence[Item] = (),
    preferred_date: date | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Print the routing decision for a site at instant ``at``; 0 eligible, 1 refused, 2 bad input."""
    out = out or sys.stdout
    try:
        coverage = load_coverage(coverage_path or SAMPLE_COVERAGE_PATH)
    except CoverageError as exc:
        print(exc, file=out)
        return 2
    try:
        request = RoutingRequest(
            site=SiteAddress(
                name="Site",
                street_lines=("-",),
                city="-",
                postal_code=postal_code,
                country=country.upper(),
                subdivision=subdivision,
                phone="0000",
            ),
            device=Device(product_line=product_line, model="-", serial_number="-"),
            entitlement=Entitlement(
                service_level=service_level,
                country_of_purchase=(country_of_purchase or country).upper(),
                items=tuple(items),
                **{OPTIONS[name]: True for name in options},
            ),
            preferred_date=preferred_date,
        )
    except ValidationError as exc:
        print(f"invalid request: {exc}", file=out)
        return 2
    decision = decide(coverage, request, at)
    print(decision.model_dump_json(indent=2) if as_json else describe(decision, at, coverage), file=out)
    return 0 if decision.eligible else 1


def run_explain_arguments(args: argparse.Namespace, now: datetime, out: TextIO | None = None) -> int:
    """``run_explain`` for a namespace from ``add_explain_arguments``; ``now`` if no --at."""
    return run_explain(
        country=args.country,
        postal_code=args.postal_code,
        at=args.at or now,
        coverage_path=args.coverage,
        subdivision=args.subdivision,
        product_line=args.product_line,
        service_level=args.service_level,
        country_of_purchase=args.country_of_purchase,
        options=args.options,
        items=args.items,
        preferred_date=args.preferred_date,
        as_json=args.json,
        out=out,
    )


def describe(decision: RoutingDecision, at: datetime, coverage: Coverage | None = None) -> str:
    """The decision as lines a person reads; with ``coverage``, the calendar and rule that made its dates."""
    lines = [
        f"request at {at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        f"eligible: {'yes' if decision.eligible else 'no'}",
    ]
    if decision.eligible:
        lines += [
            f"region: {decision.region_id} ({decision.time_zone})",
            f"method: {decision.method}",
            f"carrier: {decision.carrier}, return carrier: {decision.return_carrier}",
            f"repair centre: {decision.centre_id}",
        ]
        if decision.calendar is not None and decision.time_zone is not None:
            lines += _calendar_lines(decision, at, coverage)
        for slot in decision.slots:
            lines.append(
                f"slot: {slot.local_date:%a %Y-%m-%d} {slot.ready_time:%H:%M}-{slot.close_time:%H:%M} "
                f"{slot.time_zone} ({slot.ready_at:%Y-%m-%dT%H:%MZ} to {slot.close_at:%H:%MZ})"
            )
        if decision.ship_by:
            lines.append(f"ship by: {decision.ship_by}")
        if decision.drop_off:
            lines.append(f"drop-off: {decision.drop_off}")
        if decision.turnaround:
            t = decision.turnaround
            lines.append(
                f"turnaround targets (business days): inbound {t.inbound_business_days}, "
                f"at centre {t.at_centre_business_days}, outbound {t.outbound_business_days}, "
                f"at risk at {t.at_risk_ratio:.0%}"
            )
    lines.append("reasons:")
    lines += [f"  - {reason.code}: {reason.message}" for reason in decision.reasons]
    return "\n".join(lines)


def _calendar_lines(decision: RoutingDecision, at: datetime, coverage: Coverage | None) -> list[str]:
    used = decision.calendar
    assert used is not None and decision.time_zone is not None
    name = f"{used.country}-{used.subdivision}" if used.subdivision else f"{used.country} (national)"
    local = to_local(at, decision.time_zone)
    lines = [
        f"calendar: {name}, decided by {used.source.replace('_', ' ')}; time zone {decision.time_zone}",
        f"local time of the request: {local:%a %Y-%m-%d %H:%M}",
    ]
    region = coverage.regions.get(decision.region_id or "") if coverage is not None else None
    if region is not None and region.courier_pickup is not None and decision.slots:
        terms = region.courier_pickup
        lines.append(
            f"rule: lead time {terms.lead_time_business_days} business day(s), counted from the request day: "
            f"today if it is a business day and the request comes before the {terms.cut_off:%H:%M} cut-off, "
            f"else the next business day"
        )
        until = decision.slots[0].local_date
    elif region is not None and region.self_shipment is not None and decision.ship_by is not None:
        lines.append(
            f"rule: ship within {region.self_shipment.ship_within_business_days} business day(s), counted from "
            f"the request day (today if a business day, else the next one)"
        )
        until = decision.ship_by
    else:
        return lines
    calendar = calendar_for(used.country, used.subdivision, decision.time_zone, region.business_days.rules)
    day, skipped = local.date(), []
    while day <= until:
        off = calendar.day_off(day)
        if off is not None and not off.endswith("not a working day"):
            skipped.append(f"{day:%a %Y-%m-%d} {off}")
        day += timedelta(days=1)
    working = ", ".join(region.business_days.working_days)
    lines.append(
        f"working days: {working}"
        + (f"; closed: {', '.join(region.business_days.closed)}" if region.business_days.closed else "")
    )
    lines.append(f"holidays and closures skipped until {until}: {'; '.join(skipped) if skipped else 'none'}")
    return lines
