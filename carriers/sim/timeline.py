"""The scripted life of a simulated shipment: which events have happened by a given instant.

Pure functions of the booking and the clock's ``now``: a shipment booked at ``t0`` shows ``LC`` at once,
then the hand-over (``PU`` when a courier collects, ``DO`` when the customer drops it off), ``IT``, ``OD`` and
``DL`` at the configured offsets. A voided shipment stops where it was and ends with ``VO``. Event ids are
derived from the event itself, so a push and a poll of the same event carry the same id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from carriers.models import TrackingEvent
from carriers.sim.codes import description_for, status_for
from carriers.sim.settings import TimelineSettings

CARRIER = "sim"


def event_id(tracking_number: str, code: str, occurred_at: datetime) -> str:
    """A stable id: the same event always gets the same id, whether polled or pushed."""
    key = f"{tracking_number}|{code}|{occurred_at.timestamp():.0f}"
    return "sim-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def make_event(
    tracking_number: str, code: str, occurred_at: datetime, location: str | None, description: str = ""
) -> TrackingEvent:
    return TrackingEvent(
        carrier=CARRIER,
        tracking_number=tracking_number,
        event_id=event_id(tracking_number, code, occurred_at),
        occurred_at=occurred_at,
        status=status_for(code),
        raw_code=code,
        raw_description=description or description_for(code),
        location=location,
    )


@dataclass(frozen=True)
class Journey:
    """What the timeline needs to know about one parcel."""

    tracking_number: str
    booked_at: datetime
    collected: bool  # a courier picks it up (PU) rather than the customer dropping it off (DO)
    origin: str
    destination: str
    voided_at: datetime | None = None


def events_until(journey: Journey, now: datetime, timeline: TimelineSettings) -> list[TrackingEvent]:
    """The events of ``journey`` that have happened by ``now``, oldest first."""
    script = [
        ("LC", timeline.label_created_s, journey.origin),
        ("PU" if journey.collected else "DO", timeline.handed_over_s, journey.origin),
        ("IT", timeline.in_transit_s, "Sorting hub"),
        ("OD", timeline.out_for_delivery_s, journey.destination),
        ("DL", timeline.delivered_s, journey.destination),
    ]
    horizon = now if journey.voided_at is None else min(now, journey.voided_at)
    events = []
    for code, offset, location in script:
        at = journey.booked_at + timedelta(seconds=offset)
        if at > horizon:
            break
        events.append(make_event(journey.tracking_number, code, at, location))
    if journey.voided_at is not None and journey.voided_at <= now:
        events.append(make_event(journey.tracking_number, "VO", journey.voided_at, journey.origin))
    return events
