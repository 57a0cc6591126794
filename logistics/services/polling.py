"""Tracking by polling: the backstop for carrier pushes, which expire and get lost.

Each pass asks every carrier that can track for the open legs whose next poll is due, at most
``per_carrier_batch`` of them, in calls of at most ``max_track_batch`` numbers. The events found go through
``Tracking.ingest`` exactly like pushed ones (so duplicates of pushed events change nothing), and each leg's
next poll is then set by how close it is to a milestone, the cadence of each stage a setting
(``polling.cadence_min``): by default hours while a label waits to be used, about an hour in transit, a
quarter of an hour out for delivery. A delivered or cancelled leg, or a leg of a finished journey, is closed
and never polled again.

A carrier error on one call is logged and the legs of that call are polled again after
``polling.error_retry_min``; a number the carrier does not know yet, after ``polling.not_found_retry_min``; the
other calls and the other carriers go on. This module does not retry a carrier call itself: the resilience
layer around every adapter does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from carriers import Capability, CarrierAdapter, CarrierError, TrackingEvent
from logistics.clock import Clock
from logistics.config import PollingSettings
from logistics.domain.journey import JourneyState, LegDirection, LegStatus
from logistics.domain.model import Repair
from logistics.services.ports import Store
from logistics.services.tracking import Tracking

logger = logging.getLogger(__name__)


def cadence(settings: PollingSettings) -> dict[LegStatus, timedelta | None]:
    """How soon a leg is polled again after it was seen in each status (``polling.cadence_min``); None
    closes the leg."""
    intervals: dict[LegStatus, timedelta | None] = {LegStatus.DELIVERED: None, LegStatus.CANCELLED: None}
    for stage, minutes in settings.cadence_min.items():
        intervals[LegStatus(stage)] = timedelta(minutes=minutes)
    return intervals


def next_poll(
    repair: Repair | None, direction: LegDirection, now: datetime, intervals: Mapping[LegStatus, timedelta | None]
) -> datetime | None:
    """When to poll this leg again; None when the leg is finished and should be closed."""
    if repair is None or repair.state in (JourneyState.DELIVERED, JourneyState.CANCELLED):
        return None
    leg = repair.leg(direction)
    if leg is None:
        return None
    status = leg.status
    # A leg whose newest event raised a carrier exception is watched closely whatever its stage.
    if any(f.leg is direction and f.cleared_at is None and f.code.startswith("carrier.") for f in repair.flags):
        status = LegStatus.EXCEPTION
    interval = intervals.get(status, timedelta(hours=1))
    return None if interval is None else now + interval


class Poller:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        carriers: Mapping[str, CarrierAdapter],
        tracking: Tracking,
        settings: PollingSettings,
    ) -> None:
        self._store = store
        self._clock = clock
        self._carriers = carriers
        self._tracking = tracking
        self._settings = settings
        self._cadence = cadence(settings)
        self._error_retry = timedelta(minutes=settings.error_retry_min)
        self._not_found_retry = timedelta(minutes=settings.not_found_retry_min)

    async def poll_due(self) -> int:
        """One pass over every carrier that can track; returns how many legs were asked about."""
        if not self._settings.enabled:
            return 0
        counts = await asyncio.gather(
            *(
                self._poll_carrier(name, adapter)
                for name, adapter in self._carriers.items()
                if Capability.TRACK in adapter.capabilities
            )
        )
        return sum(counts)

    async def _poll_carrier(self, name: str, adapter: CarrierAdapter) -> int:
        now = self._clock.now()
        legs = await self._store.reader().open_legs_to_poll(name, now, self._settings.per_carrier_batch)
        size = max(1, adapter.max_track_batch)
        polled = 0
        for start in range(0, len(legs), size):
            polled += await self._poll_batch(name, adapter, legs[start : start + size])
        return polled

    async def _poll_batch(
        self, name: str, adapter: CarrierAdapter, legs: Sequence[tuple[str, LegDirection, str]]
    ) -> int:
        numbers = list(dict.fromkeys(number for _, _, number in legs))
        try:
            results = await adapter.track(numbers)
        except CarrierError as exc:
            logger.warning("tracking %d number(s) at %s failed: %s", len(numbers), name, exc)
            await self._reschedule(legs, found=set(), failed=True)
            return 0
        except Exception:
            # A fault in one adapter must not stop the backstop for the others.
            logger.exception("tracking %d number(s) at %s raised unexpectedly", len(numbers), name)
            await self._reschedule(legs, found=set(), failed=True)
            return 0
        events: list[TrackingEvent] = [e for result in results if result.found for e in result.events]
        if events:
            await self._tracking.ingest(name, events, "poll")
        await self._reschedule(legs, found={r.tracking_number for r in results if r.found}, failed=False)
        return len(legs)

    async def _reschedule(
        self, legs: Sequence[tuple[str, LegDirection, str]], *, found: set[str], failed: bool
    ) -> None:
        now = self._clock.now()
        reader = self._store.reader()
        plans: list[tuple[str, LegDirection, datetime | None]] = []
        for repair_id, direction, number in legs:
            repair = await reader.get_repair(repair_id)
            at = next_poll(repair, direction, now, self._cadence)
            if at is not None and failed:
                at = now + self._error_retry
            elif at is not None and number not in found:
                at = max(at, now + self._not_found_retry)
            plans.append((repair_id, direction, at))
        async with self._store.transaction() as tx:
            for repair_id, direction, at in plans:
                await tx.schedule_poll(repair_id, direction, at, at is not None)
