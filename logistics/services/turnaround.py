"""The turnaround watch: reads every repair in progress against its targets and reports each change of status.

A change (on_track → at_risk → breached, or back to on_track when a leg made its target) is saved on the
repair and recorded as a ``turnaround`` history entry in the same transaction, which queues exactly one
notification to the case system per transition. The status is recomputed inside the writing transaction, so
two watches running at once, or a tracking event landing in between, cannot report a transition twice.

The clock rules live in ``logistics.domain.turnaround``; the calendars come from ``calendar_of``, so this
module knows nothing of the coverage document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from logistics.clock import Clock
from logistics.domain.journey import LegDirection
from logistics.domain.model import Repair
from logistics.domain.routing import BusinessCalendar, UnknownCalendar, calendar_for
from logistics.domain.routing.calendar import STANDARD_WORK
from logistics.domain.routing.coverage import RepairCentre, WorkDays
from logistics.domain.routing.territory import national_territory
from logistics.domain.turnaround import SEGMENTS, BusinessDays, Segment, TurnaroundReading, read_turnaround
from logistics.services.notifications import record
from logistics.services.ports import Store

logger = logging.getLogger(__name__)

CalendarOf = Callable[[Repair, Segment], BusinessDays]
"""The business calendar in which one segment of a repair's journey is counted."""

SOURCE = "turnaround-clock"
_SEGMENT_LEG: dict[Segment, LegDirection | None] = {
    "inbound": LegDirection.INBOUND,
    "at_centre": None,
    "outbound": LegDirection.OUTBOUND,
}


def site_calendar(repair: Repair) -> BusinessCalendar:
    """The customer site's calendar as routing decided it from the address, read in the site's own zone."""
    routed = repair.routed
    country, _ = national_territory(repair.site.country, repair.site.subdivision)
    week = routed.site_business_days
    work = WorkDays.model_validate(week, from_attributes=True).rules if week is not None else STANDARD_WORK
    return calendar_for(country, routed.site_calendar_subdivision, routed.site_time_zone, work)


def centre_calendar(centre: RepairCentre) -> BusinessCalendar:
    """A repair centre's calendar: its holidays, its working days and closures, read in its own zone."""
    return calendar_for(
        centre.calendar.country, centre.calendar.subdivision, centre.time_zone, centre.business_days.rules
    )


def site_and_centre(centre_calendar: Callable[[str], BusinessDays]) -> CalendarOf:
    """Transit in the site's calendar; time at the centre in ``centre_calendar(centre_id)``."""

    def calendar_of(repair: Repair, segment: Segment) -> BusinessDays:
        return centre_calendar(repair.centre_id) if segment == "at_centre" else site_calendar(repair)

    return calendar_of


class TurnaroundWatch:
    def __init__(self, store: Store, clock: Clock, calendar_of: CalendarOf, *, page_size: int = 200) -> None:
        self._store = store
        self._clock = clock
        self._calendar_of = calendar_of
        self._page_size = page_size

    def read(self, repair: Repair) -> TurnaroundReading | None:
        """The repair's clocks now; None when it has no targets or its calendars cannot be built."""
        targets = repair.turnaround
        if targets is None:
            return None
        try:
            calendars = {segment: self._calendar_of(repair, segment) for segment, _, _ in SEGMENTS}
        except (UnknownCalendar, KeyError) as exc:
            logger.warning("turnaround of repair %s cannot be read: %s", repair.id, exc)
            return None
        return read_turnaround(targets, repair.state_since, self._clock.now(), calendars)

    async def evaluate(self) -> int:
        """One pass over every repair in progress; returns how many changed status."""
        changed = 0
        after: str | None = None
        while True:
            page = await self._store.reader().repairs_in_progress(self._page_size, after)
            for repair in page:
                reading = self.read(repair)
                if reading is not None and reading.status.value != repair.turnaround_status:
                    changed += await self.evaluate_one(repair.id)
            if len(page) < self._page_size:
                return changed
            after = page[-1].id

    async def evaluate_one(self, repair_id: str) -> int:
        """Re-read one repair in a write transaction and record its transition, if any (1) or none (0)."""
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(repair_id)
            reading = None if repair is None else self.read(repair)
            if repair is None or reading is None or reading.status.value == repair.turnaround_status:
                return 0
            now = self._clock.now()
            previous = repair.turnaround_status
            # The segment that set the status: the running one when it agrees, else the latest that does.
            cause = next((s for s in reversed(reading.segments) if s.status is reading.status), None)
            changes = repair.record_turnaround(
                reading.status.value,
                now,
                SOURCE,
                _SEGMENT_LEG[cause.segment] if cause else None,
                {
                    "segment": cause.segment if cause else None,
                    "segments": {s.segment: s.as_details() for s in reading.segments},
                },
            )
            await tx.save_repair(repair)
            await record(tx, repair, changes, now)
        level = logging.WARNING if reading.status.value == "breached" else logging.INFO
        logger.log(
            level,
            "repair %s turnaround %s -> %s (%s)",
            repair_id,
            previous,
            reading.status.value,
            cause.segment if cause else "no segment",
        )
        return 1
