"""Turnaround clocks: how many business days each part of a repair's journey has used against its target.

Pure: no I/O, no clock. Every instant is passed in (aware UTC), and so are the business calendars.

A journey has three timed segments, each read in its own calendar:

- ``inbound``: from entering ``in_transit_to_centre`` until ``at_centre``, in the site's calendar. The clock
  starts when the carrier has the device, not while it waits for a pickup or a drop-off, because until then
  the delay is the customer's and not the logistics'. A device that reaches the centre without ever being
  reported in transit (the centre scanned it before the carrier's first scan arrived) has no inbound reading.
- ``at_centre``: from ``at_centre`` until ``in_transit_to_customer``, in the repair centre's calendar.
- ``outbound``: from ``in_transit_to_customer`` until ``delivered``, in the site's calendar.

A running segment is ``at_risk`` once it has used at least ``at_risk_ratio`` of its target and ``breached``
once it is over target. A finished segment is either ``breached`` (it ended over target) or ``on_track``: a
leg that made its target is no longer at risk. The repair's status is the worst of its segments, so a breach
stays a breach for the rest of the journey.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from logistics.domain.journey import JourneyState
from logistics.domain.routing.outcome import TurnaroundTargets

Segment = Literal["inbound", "at_centre", "outbound"]

SEGMENTS: tuple[tuple[Segment, JourneyState, JourneyState], ...] = (
    ("inbound", JourneyState.IN_TRANSIT_TO_CENTRE, JourneyState.AT_CENTRE),
    ("at_centre", JourneyState.AT_CENTRE, JourneyState.IN_TRANSIT_TO_CUSTOMER),
    ("outbound", JourneyState.IN_TRANSIT_TO_CUSTOMER, JourneyState.DELIVERED),
)


class TurnaroundStatus(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"


_SEVERITY = {TurnaroundStatus.ON_TRACK: 0, TurnaroundStatus.AT_RISK: 1, TurnaroundStatus.BREACHED: 2}


class BusinessDays(Protocol):
    """The one question a turnaround clock asks of a calendar (``BusinessCalendar`` answers it)."""

    def business_days_between(self, start: datetime, end: datetime) -> float: ...


def target_of(targets: TurnaroundTargets, segment: Segment) -> int:
    if segment == "inbound":
        return targets.inbound_business_days
    if segment == "at_centre":
        return targets.at_centre_business_days
    return targets.outbound_business_days


@dataclass(frozen=True)
class SegmentReading:
    segment: Segment
    target_business_days: int
    used_business_days: float
    started_at: datetime
    ended_at: datetime | None  # None while the segment is running
    status: TurnaroundStatus

    def as_details(self) -> dict[str, object]:
        return {
            "target_business_days": self.target_business_days,
            "used_business_days": round(self.used_business_days, 3),
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "status": self.status.value,
        }


@dataclass(frozen=True)
class TurnaroundReading:
    segments: tuple[SegmentReading, ...]
    status: TurnaroundStatus

    def segment(self, name: Segment) -> SegmentReading | None:
        return next((s for s in self.segments if s.segment == name), None)


def segment_status(used: float, target: int, ratio: float, *, running: bool) -> TurnaroundStatus:
    if used > target:
        return TurnaroundStatus.BREACHED
    if running and used >= ratio * target:
        return TurnaroundStatus.AT_RISK
    return TurnaroundStatus.ON_TRACK


def read_turnaround(
    targets: TurnaroundTargets,
    state_since: Mapping[str, datetime],
    now: datetime,
    calendars: Mapping[Segment, BusinessDays],
) -> TurnaroundReading:
    """Read every segment that has started; ``calendars`` holds the calendar of each segment to read."""
    readings: list[SegmentReading] = []
    for name, start_state, end_state in SEGMENTS:
        started = state_since.get(start_state.value)
        if started is None:
            continue
        ended = state_since.get(end_state.value)
        # A journey never moves backwards, so an end before its start is a clock skew between sources.
        if ended is not None and ended < started:
            ended = started
        used = max(0.0, calendars[name].business_days_between(started, ended or now))
        target = target_of(targets, name)
        status = segment_status(used, target, targets.at_risk_ratio, running=ended is None)
        readings.append(SegmentReading(name, target, used, started, ended, status))
    worst = max((r.status for r in readings), key=_SEVERITY.__getitem__, default=TurnaroundStatus.ON_TRACK)
    return TurnaroundReading(tuple(readings), worst)
