"""Carrier tracking events into the journey, by the carrier's clock rather than by arrival.

Each event is stored once per (carrier, tracking number, event id); a duplicate changes nothing. The
journey then follows the leg's whole set of stored events in the carrier's time order
(``Repair.follow_scans``): whatever order they arrive in, the history, the state path, the flags, the
notifications and the turnaround clocks end as they would have had the events arrived in order. A late
event that proves nothing new (an "in transit" dated after "delivered") stays in the stored chain of events
and in the history as ignored.

One call (a push or a poll batch) is one transaction: its events are stored together or not at all, and the
durable commit is paid once per call rather than once per event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from carriers import TrackingEvent
from logistics.clock import Clock
from logistics.domain.journey import LEG_STAGE, LegDirection, LegStatus
from logistics.domain.model import Change, Repair
from logistics.domain.timeline import Scan
from logistics.services.notifications import record_all
from logistics.services.ports import Store, StoredCarrierEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """One event of a push or poll that was not stored, and why (``code`` is stable)."""

    tracking_number: str
    event_id: str
    code: str
    reason: str


@dataclass
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=15)


class Tracking:
    def __init__(self, store: Store, clock: Clock, *, future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE) -> None:
        self._store = store
        self._clock = clock
        self._future_tolerance = future_tolerance

    async def ingest(self, carrier: str, events: Sequence[TrackingEvent], via: Literal["push", "poll"]) -> Ingested:
        """Store the new events of one push or poll and apply them, all in one transaction.

        Events are applied per repair, oldest first by (carrier time, event id), so the common case (in
        order) produces the natural history, and events sharing a timestamp are ordered the same way
        whatever order they arrive in. The reads and writes of a call are made for all its repairs at once,
        so a call costs a handful of statements whatever its size.
        """
        result = Ingested()
        now = self._clock.now()
        latest = now + self._future_tolerance
        numbers = sorted({e.tracking_number for e in events})
        located = await self._store.reader().find_legs(carrier, numbers) if numbers else {}
        by_repair: dict[str, list[tuple[LegDirection, TrackingEvent]]] = {}
        for event in sorted(events, key=_order):
            leg = located.get(event.tracking_number)
            if leg is None:
                result.unknown.append(event.tracking_number)
                result.refused.append(
                    Refusal(event.tracking_number, event.event_id, "tracking.unknown_number", "unknown tracking number")
                )
                continue
            if event.occurred_at > latest:
                ahead, tolerance = _duration(event.occurred_at - now), _duration(self._future_tolerance)
                result.refused.append(
                    Refusal(
                        event.tracking_number,
                        event.event_id,
                        "tracking.event_in_future",
                        f"dated {ahead} after the service's clock (tolerance {tolerance})",
                    )
                )
                continue
            by_repair.setdefault(leg[0], []).append((leg[1], event))
        if result.refused:
            logger.warning(
                "%s %s: %d event(s) refused, first: %s %s (%s)",
                carrier,
                via,
                len(result.refused),
                result.refused[0].tracking_number,
                result.refused[0].event_id,
                result.refused[0].reason,
            )
        if not by_repair:
            return result
        ids = sorted(by_repair)
        async with self._store.transaction() as tx:
            repairs = await tx.get_repairs(ids)
            stored = await tx.carrier_events_of(ids)
            fresh: list[StoredCarrierEvent] = []
            changed: list[tuple[Repair, list[Change]]] = []
            for repair_id in ids:
                repair = repairs[repair_id]
                new, changes = self._apply(
                    carrier,
                    repair,
                    stored.get(repair_id, []),
                    by_repair[repair_id],
                    via,
                    now,
                    result,
                    self._future_tolerance,
                )
                if new:
                    fresh += new
                    # Changed now, whatever the events' own times: a case system listing the repairs
                    # updated since its last look must find one that a late event changed.
                    repair.updated_at = max(repair.updated_at, now)
                    changed.append((repair, changes))
            if fresh:
                await tx.add_carrier_events(fresh)
                await tx.save_repairs([repair for repair, _ in changed])
                await record_all(tx, changed, now)
        return result

    @staticmethod
    def _apply(
        carrier: str,
        repair: Repair,
        stored: list[StoredCarrierEvent],
        arrivals: list[tuple[LegDirection, TrackingEvent]],
        via: str,
        now: datetime,
        result: Ingested,
        skew: timedelta,
    ) -> tuple[list[StoredCarrierEvent], list[Change]]:
        """The events of one repair that are new, and the changes they make to it (pure, in memory)."""
        known = {(e.carrier, e.tracking_number, e.event_id) for e in stored}
        scans: dict[LegDirection, list[Scan]] = {}
        for e in stored:
            scans.setdefault(e.leg, []).append(_stored_scan(e))
        fresh: list[StoredCarrierEvent] = []
        fresh_scans: dict[LegDirection, list[Scan]] = {}
        for direction, event in arrivals:
            identity = (carrier, event.tracking_number, event.event_id)
            if identity in known:
                result.duplicates += 1
                continue
            known.add(identity)
            result.accepted += 1
            record = StoredCarrierEvent(
                carrier=carrier,
                tracking_number=event.tracking_number,
                event_id=event.event_id,
                repair_id=repair.id,
                leg=direction,
                occurred_at=event.occurred_at,
                status=event.status.value,
                raw_code=event.raw_code,
                raw_description=event.raw_description,
                location=event.location,
                received_at=now,
                via=via,
            )
            fresh.append(record)
            fresh_scans.setdefault(direction, []).append(_stored_scan(record, fresh=True))
        changes: list[Change] = []
        for direction, new in fresh_scans.items():
            before = scans.get(direction, [])
            leg = repair.leg(direction)
            if leg is not None and before and not leg.steps and LEG_STAGE[leg.status] >= LEG_STAGE[LegStatus.PICKED_UP]:
                # A leg recorded before its steps were kept: learn them from its stored scans, silently.
                repair.follow_scans(direction, before, [], skew=skew)
            changes += repair.follow_scans(direction, before + new, new, skew=skew)
        return fresh, changes


_STATUSES = {status.value: status for status in LegStatus}


def _stored_scan(e: StoredCarrierEvent, *, fresh: bool = False) -> Scan:
    """The journey's view of a stored event; the full details (for the history) only of a fresh one, since an
    event already recorded seldom makes a new entry (then it is named by its code and description)."""
    if fresh:
        details: dict[str, object] = {
            "carrier": e.carrier,
            "tracking_number": e.tracking_number,
            "raw_code": e.raw_code,
            "description": e.raw_description,
            "location": e.location,
            "via": e.via,
        }
    else:
        details = {"raw_code": e.raw_code, "description": e.raw_description}
    return Scan(e.occurred_at, e.event_id, _STATUSES[e.status], f"{e.carrier}:{e.event_id}", details)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def _order(event: TrackingEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)
