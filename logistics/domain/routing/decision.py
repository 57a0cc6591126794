"""The routing decision: may the device travel, how, with which carriers, to which repair centre, when.

``decide`` is pure: the coverage, the request and the current instant are passed in. Steps:

1. Eligibility (``eligibility``): every broken rule is a refusal reason.
2. Region (``Coverage.region_for``): no region means the address is not covered, a refusal.
3. Method from the service level the case system asked for:
   * ``pickup_and_return``: courier pickup where the region offers it. Where it does not, the customer
     ships the device with a provided label: the product sheet offers pickup "only where the site is in
     a served zone" and has the customer ship elsewhere. The fallback is stated in a
     ``method.pickup_not_offered`` reason, so the case system can tell the customer.
   * ``customer_ship``: self-shipment; refused (``service_level.not_offered``) where the region takes none.
   * ``either``: courier pickup where offered, else self-shipment.
4. Repair centre for the product line; carriers, turnaround targets, drop-off text from the region.
5. The site's calendar and time zone, decided by its address (``site_calendar``): a subdivision that
   contradicts the postal code, or that the calendar does not know, is a refusal naming ``site.subdivision``.
6. Pickup slots in the site's calendar and time zone (``pickup_slots``), or the ship-by date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from logistics.domain.routing.calendar import calendar_for
from logistics.domain.routing.coverage import Coverage, Region, RegionMatch
from logistics.domain.routing.eligibility import refusals
from logistics.domain.routing.local_time import to_local
from logistics.domain.routing.outcome import (
    CalendarUsed,
    Method,
    PickupSlot,
    Reason,
    RoutingDecision,
    reason,
    trusted,
)
from logistics.domain.routing.pickup_slots import plan_pickup, request_day
from logistics.domain.routing.request import RoutingRequest, ServiceLevel
from logistics.domain.routing.site_calendar import SiteCalendar, read_address, site_calendar
from logistics.domain.routing.territory import national_territory

DEFAULT_SLOT_COUNT = 3


def decide(
    coverage: Coverage, request: RoutingRequest, now: datetime, *, slot_count: int = DEFAULT_SLOT_COUNT
) -> RoutingDecision:
    """Route ``request`` at instant ``now`` (timezone-aware) against ``coverage``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    site, entitlement = request.site, request.entitlement
    refused = list(refusals(site, request.device.product_line, entitlement))
    country, subdivision = national_territory(site.country, site.subdivision)
    address = read_address(country, site.postal_code, subdivision)
    if isinstance(address, Reason):
        refused.append(address)
        match = coverage.region_for(country, site.postal_code)
    else:
        match = coverage.region_for(country, site.postal_code, address.region_keys())
    if match is None:
        refused.append(
            reason(
                code="coverage.no_region",
                message=f"No coverage region serves postal code {site.postal_code!r} in {site.country}.",
            )
        )
    if refused or match is None or isinstance(address, Reason):
        return RoutingDecision.model_construct(
            eligible=False, region_id=match.region.id if match else None, reasons=tuple(refused)
        )

    region = match.region
    found = site_calendar(address, region.holiday_subdivision, region.time_zone)
    if isinstance(found, Reason):
        return RoutingDecision.model_construct(eligible=False, region_id=region.id, reasons=(found,))
    zone = found.time_zone
    reasons = [_matched(match, country), _calendar_reason(found), *found.notes]
    method = _method(region, entitlement.service_level, reasons)
    if method is None:
        return RoutingDecision.model_construct(eligible=False, region_id=region.id, reasons=tuple(reasons))

    line = request.device.product_line
    centre_id = region.centre_for(line)
    if line in region.repair_centre_by_product_line:
        reasons.append(
            reason(
                code="centre.by_product_line",
                message=f"{line.value} devices go to repair centre {centre_id}.",
            )
        )
    else:
        reasons.append(reason(code="centre.designated", message=f"The designated repair centre is {centre_id}."))
    if entitlement.defective_media_retention:
        reasons.append(
            reason(
                code="handling.defective_media_retention",
                message=(
                    "Defective Media Retention: the customer keeps the hard drive or SSD; remove it before shipping."
                ),
            )
        )
    calendar = calendar_for(country, found.subdivision, zone, region.business_days.rules)
    if method is Method.COURIER_PICKUP:
        assert region.courier_pickup is not None
        plan = plan_pickup(region.courier_pickup, calendar, zone, now, request.preferred_date, slot_count)
        reasons.extend(plan.reasons)
        return _accepted(region, found, method, centre_id, region.courier_pickup.carrier, reasons, slots=plan.slots)
    assert region.self_shipment is not None
    terms = region.self_shipment
    counted = request_day(now, calendar, zone, cut_off=None)
    ship_by = calendar.add_business_days(counted.day, terms.ship_within_business_days)
    if request.preferred_date is not None:
        reasons.append(
            reason(
                code="calendar.preferred_date_ignored",
                message=(
                    "A preferred date applies to courier pickups; the customer ships at a time of their choosing."
                ),
            )
        )
    reasons.append(
        reason(
            code="calendar.ship_by",
            message=(
                f"Ship within {terms.ship_within_business_days} business days of "
                f"{to_local(now, zone):%Y-%m-%d}, by {ship_by}."
            ),
        )
    )
    return _accepted(
        region,
        found,
        method,
        centre_id,
        terms.carrier,
        reasons,
        drop_off=terms.drop_off,
        drop_off_by_language=terms.drop_off_by_language,
        ship_by=ship_by,
    )


def _accepted(
    region: Region,
    found: SiteCalendar,
    method: Method,
    centre_id: str,
    carrier: str,
    reasons: list[Reason],
    *,
    slots: tuple[PickupSlot, ...] = (),
    drop_off: str | None = None,
    drop_off_by_language: Mapping[str, str] | None = None,
    ship_by: date | None = None,
) -> RoutingDecision:
    # Every part is already validated (coverage, request, slots), so the decision is assembled without
    # re-validation, which would cost a large share of a decision; the tests validate decisions' dumps.
    return RoutingDecision.model_construct(
        eligible=True,
        method=method,
        carrier=carrier,
        return_carrier=region.return_carrier,
        centre_id=centre_id,
        region_id=region.id,
        time_zone=found.time_zone,
        calendar=trusted(CalendarUsed, country=found.country, subdivision=found.subdivision, source=found.source),
        slots=slots,
        drop_off=drop_off,
        drop_off_by_language=dict(drop_off_by_language or {}),
        ship_by=ship_by,
        reasons=tuple(reasons),
        turnaround=region.turnaround,
    )


def _matched(match: RegionMatch, country: str) -> Reason:
    region = match.region
    if match.level == "postal_code":
        how = f"postal pattern {match.pattern!r}"
    elif match.level == "subdivision":
        how = f"subdivision {region.subdivision}"
    else:
        how = f"country {country}"
    return reason(code="region.matched", message=f"The site is in region {region.id} (by {how}).")


def _method(region: Region, level: ServiceLevel, reasons: list[Reason]) -> Method | None:
    pickup, shipment = region.courier_pickup is not None, region.self_shipment is not None
    if level is ServiceLevel.CUSTOMER_SHIP:
        if not shipment:
            reasons.append(
                reason(
                    code="service_level.not_offered",
                    message=f"Region {region.id} offers courier pickup only, not customer shipment.",
                )
            )
            return None
        reasons.append(
            reason(code="method.self_shipment", message="The customer ships the device with a provided label.")
        )
        return Method.SELF_SHIPMENT
    if pickup:
        reasons.append(
            reason(code="method.courier_pickup", message=f"A courier collects the device in region {region.id}.")
        )
        return Method.COURIER_PICKUP
    if level is ServiceLevel.PICKUP_AND_RETURN:
        reasons.append(
            reason(
                code="method.pickup_not_offered",
                message=(
                    f"Courier pickup is not offered in region {region.id}; outside served zones the customer "
                    f"ships the device with a provided label."
                ),
            )
        )
    else:
        reasons.append(
            reason(code="method.self_shipment", message="The customer ships the device with a provided label.")
        )
    return Method.SELF_SHIPMENT


def _calendar_reason(found: SiteCalendar) -> Reason:
    how = {
        "postal_code": f"decided by the postal code ({found.place})",
        "site": "the subdivision the site gives",
        "region": "the region's calendar",
        "national": "the national calendar",
    }[found.source]
    return reason(
        code="calendar.site",
        message=f"Business days are counted in calendar {found.describe()}: {how}.",
    )
