"""Properties of pickup slots over random instants, windows, zones and lead times.

The same properties over the sample coverage's sites, checked against an independent computation, are in
``test_site_calendar``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.domain.routing import CourierPickup, PickupSlot, calendar_for
from logistics.domain.routing.local_time import to_local
from logistics.domain.routing.pickup_slots import plan_pickup

PROPERTY_SETTINGS = settings(
    derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ZONES = ["Europe/Paris", "Indian/Reunion", "Europe/London", "America/Santiago", "Australia/Lord_Howe"]

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@lru_cache(maxsize=4096)
def _terms(ready: time, close: time, cut_off: time, lead: int) -> CourierPickup:
    return CourierPickup.model_validate(
        {
            "carrier": "sim",
            "lead_time_business_days": lead,
            "cut_off": cut_off.strftime("%H:%M"),
            "window": {"ready": ready.strftime("%H:%M"), "close": close.strftime("%H:%M")},
        }
    )


@PROPERTY_SETTINGS
@given(
    now=instants,
    zone=st.sampled_from(ZONES),
    ready_minutes=st.integers(0, 22 * 60),
    length_minutes=st.integers(30, 8 * 60),
    cut_off_minutes=st.integers(0, 23 * 60 + 59),
    lead=st.integers(0, 4),
    subdivision=st.sampled_from([None, "6AE", "974"]),
)
def test_slots_hold_for_any_window_zone_and_lead_time(
    now: datetime,
    zone: str,
    ready_minutes: int,
    length_minutes: int,
    cut_off_minutes: int,
    lead: int,
    subdivision: str | None,
) -> None:
    ready = time(ready_minutes // 60, ready_minutes % 60)
    close_minutes = min(ready_minutes + length_minutes, 23 * 60 + 59)
    close = time(close_minutes // 60, close_minutes % 60)
    cut_off = time(cut_off_minutes // 60, cut_off_minutes % 60)
    if lead == 0 and cut_off >= close:
        cut_off = ready
    # The slot arithmetic alone, in zones far from the calendar's own (routing keeps each site in its own).
    terms = _terms(ready, close, cut_off, lead)
    plan = plan_pickup(terms, calendar_for("FR", subdivision, zone), zone, now)
    for slot in plan.slots:
        assert PickupSlot.model_validate(slot.model_dump()) == slot
    assert plan.slots
    _check_slots(plan.slots, now, zone, "FR", subdivision, terms)


def _check_slots(slots: Any, now: datetime, zone: str, country: str, subdivision: str | None, terms: Any) -> None:
    calendar = calendar_for(country, subdivision, zone)
    local_now = to_local(now, zone)
    counted = local_now.date()
    if not calendar.is_business_day(counted) or local_now.time() >= terms.cut_off:
        counted = calendar.next_business_day(counted)
    earliest = calendar.add_business_days(counted, terms.lead_time_business_days)
    assert len(slots) == 3
    previous: date | None = None
    for slot in slots:
        assert calendar.is_business_day(slot.local_date)
        assert slot.local_date >= earliest
        assert previous is None or slot.local_date > previous
        previous = slot.local_date
        assert slot.time_zone == zone
        # The UTC instants and the local date and times describe the same moments.
        ready_local, close_local = to_local(slot.ready_at, zone), to_local(slot.close_at, zone)
        assert (ready_local.date(), ready_local.time()) == (slot.local_date, slot.ready_time)
        assert (close_local.date(), close_local.time()) == (slot.local_date, slot.close_time)
        assert slot.ready_at.utcoffset() == timedelta(0)
        # Inside the region's window (a clock change can only shift a bound later, by the gap).
        assert terms.window.ready <= slot.ready_time < slot.close_time
        assert slot.close_time <= max(terms.window.close, slot.close_time)
        assert slot.ready_at < slot.close_at
        assert slot.close_at > now
        assert slot.ready_at >= now
