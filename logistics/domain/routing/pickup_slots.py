"""Courier pickup slots at a site: business days in the site's calendar, inside the region's local window.

The rule, in the site's local time:

1. The request counts from today if today is a business day and the request came before the daily
   cut-off (a request exactly at the cut-off is late); otherwise from the next business day.
2. The earliest pickup is that day plus the lead time, counted in business days.
3. A preferred date is honoured when it is a business day between the earliest pickup and the booking
   horizon; otherwise a reason says why not and the slots start at the earliest (or next) business day.
4. Each slot is one business day's window; its UTC bounds come from ``local_time.local_instant``, so on
   the night of a daylight-saving change the window's local times are the ones clocks actually show.
   A window that a clock change empties is skipped; with no lead time, a slot on the request day opens
   no earlier than the request (rounded up to the minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from logistics.domain.routing.calendar import BusinessCalendar
from logistics.domain.routing.coverage import CourierPickup
from logistics.domain.routing.local_time import local_instant, to_local
from logistics.domain.routing.outcome import PickupSlot, Reason, reason, trusted

BOOKING_HORIZON_BUSINESS_DAYS = 30


@dataclass(frozen=True, slots=True)
class RequestDay:
    """The local business day a request counts from, and the reason when it is not today."""

    day: date
    reason: Reason | None


def request_day(now: datetime, calendar: BusinessCalendar, time_zone: str, cut_off: time | None) -> RequestDay:
    """The business day from which a request made at ``now`` counts (see rule 1)."""
    local_now = to_local(now, time_zone)
    today = local_now.date()
    if not calendar.is_business_day(today):
        what = _day_off(calendar, today)
        following = calendar.next_business_day(today)
        return RequestDay(
            following,
            reason(
                code="calendar.not_business_day",
                message=f"{today:%A %d %B %Y} is {what} at the site; the request counts from {following}.",
            ),
        )
    if cut_off is not None and now >= local_instant(today, cut_off, time_zone):
        following = calendar.next_business_day(today)
        return RequestDay(
            following,
            reason(
                code="calendar.after_cutoff",
                message=(
                    f"The request came at {local_now:%H:%M:%S} local time, at or after the {cut_off:%H:%M} "
                    f"cut-off; it counts from the next business day, {following}."
                ),
            ),
        )
    return RequestDay(today, None)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    earliest: date
    slots: tuple[PickupSlot, ...]
    reasons: tuple[Reason, ...]


def plan_pickup(
    terms: CourierPickup,
    calendar: BusinessCalendar,
    time_zone: str,
    now: datetime,
    preferred: date | None = None,
    count: int = 3,
) -> SlotPlan:
    """The earliest ``count`` pickup slots (starting at ``preferred`` when feasible) and the reasons."""
    reasons: list[Reason] = []
    counted = request_day(now, calendar, time_zone, terms.cut_off)
    if counted.reason is not None:
        reasons.append(counted.reason)
    earliest = calendar.add_business_days(counted.day, terms.lead_time_business_days)
    start = earliest
    if preferred is not None:
        latest = calendar.add_business_days(earliest, BOOKING_HORIZON_BUSINESS_DAYS)
        if preferred < earliest:
            reasons.append(
                reason(
                    code="calendar.preferred_date_too_early",
                    message=(f"The preferred date {preferred} is before the earliest possible pickup, {earliest}."),
                )
            )
        elif preferred > latest:
            reasons.append(
                reason(
                    code="calendar.preferred_date_too_far",
                    message=f"The preferred date {preferred} is after the last bookable day, {latest}.",
                )
            )
        elif not calendar.is_business_day(preferred):
            start = calendar.next_business_day(preferred)
            what = _day_off(calendar, preferred)
            reasons.append(
                reason(
                    code="calendar.preferred_date_not_business_day",
                    message=(f"The preferred date {preferred} is {what} at the site; slots start on {start}."),
                )
            )
        else:
            start = preferred
            reasons.append(
                reason(
                    code="calendar.preferred_date_honoured",
                    message=f"The preferred date {preferred} is kept.",
                )
            )
    slots: list[PickupSlot] = []
    day = calendar.on_or_after(start)
    for _ in range(count + 10):  # a few spare days for windows a clock change empties
        if len(slots) == count:
            break
        slot = _slot(day, terms, time_zone, now)
        if slot is not None:
            slots.append(slot)
        day = calendar.next_business_day(day)
    return SlotPlan(earliest, tuple(slots), tuple(reasons))


def _day_off(calendar: BusinessCalendar, day: date) -> str:
    holiday = calendar.holiday_name(day)
    if holiday is not None:
        return f"a public holiday ({holiday})"
    return "a closure day of the region" if calendar.day_off(day) == "closed" else "not a business day"


def _slot(day: date, terms: CourierPickup, time_zone: str, now: datetime) -> PickupSlot | None:
    ready_at = local_instant(day, terms.window.ready, time_zone)
    close_at = local_instant(day, terms.window.close, time_zone)
    if ready_at < now:
        ready_at = _ceil_minute(now.astimezone(UTC))
    if close_at <= ready_at:
        return None
    # Built from validated terms and checked just above: skipping re-validation keeps a decision cheap.
    return trusted(
        PickupSlot,
        local_date=day,
        ready_time=to_local(ready_at, time_zone).time(),
        close_time=to_local(close_at, time_zone).time(),
        time_zone=time_zone,
        ready_at=ready_at,
        close_at=close_at,
    )


def _ceil_minute(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=1)
