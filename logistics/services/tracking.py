"""Carrier tracking events into the journey: deduplicated, stored by their own time, never moving backwards.

Each event is stored once per (carrier, tracking number, event id); a duplicate changes nothing. A stored
event then updates its leg only forward; a late event (an "in transit" after "delivered") stays in the
stored chain of events and in the history as ignored. An exception raises a flag only while it is the
newest event of its leg, so whatever order the events arrive in, the leg ends in the same state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from carriers import TrackingEvent
from logistics.clock import Clock
from logistics.domain.journey import LegStatus
from logistics.errors import NotFound
from logistics.services.notifications import record
from logistics.services.ports import Store, StoredCarrierEvent

logger = logging.getLogger(__name__)


@dataclass
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)


class Tracking:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def check_known(self, carrier: str, events: Sequence[TrackingEvent]) -> None:
        """Refuse a push naming a tracking number this service never issued (nothing is stored)."""
        reader = self._store.reader()
        unknown = sorted(
            {e.tracking_number for e in events if await reader.find_leg(carrier, e.tracking_number) is None}
        )
        if unknown:
            raise NotFound(f"unknown tracking number(s): {', '.join(unknown)}", code="tracking.unknown_number")

    async def ingest(self, carrier: str, events: Sequence[TrackingEvent], via: Literal["push", "poll"]) -> Ingested:
        result = Ingested()
        reader = self._store.reader()
        # Oldest first: the common case (in order) then produces the natural history.
        for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
            located = await reader.find_leg(carrier, event.tracking_number)
            if located is None:
                result.unknown.append(event.tracking_number)
                continue
            repair_id, direction = located
            now = self._clock.now()
            async with self._store.transaction() as tx:
                stored = await tx.add_carrier_event(
                    StoredCarrierEvent(
                        carrier=carrier,
                        tracking_number=event.tracking_number,
                        event_id=event.event_id,
                        repair_id=repair_id,
                        leg=direction,
                        occurred_at=event.occurred_at,
                        status=event.status.value,
                        raw_code=event.raw_code,
                        raw_description=event.raw_description,
                        location=event.location,
                        received_at=now,
                        via=via,
                    )
                )
                if not stored:
                    result.duplicates += 1
                    continue
                result.accepted += 1
                repair = await tx.get_repair(repair_id)
                assert repair is not None
                newest = await tx.newest_event_time(repair_id, direction)
                details = {
                    "carrier": carrier,
                    "tracking_number": event.tracking_number,
                    "raw_code": event.raw_code,
                    "description": event.raw_description,
                    "location": event.location,
                    "via": via,
                }
                changes = repair.apply_carrier_status(
                    direction,
                    LegStatus(event.status.value),
                    event.occurred_at,
                    f"{carrier}:{event.event_id}",
                    details,
                    is_newest=event.occurred_at >= newest,
                )
                await tx.save_repair(repair)
                await record(tx, repair, changes, now)
        return result
