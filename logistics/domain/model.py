"""One repair's logistics as an aggregate: the case, the device, two legs, the journey state, its flags.

Pure: methods change the aggregate in memory and return the ``Change`` records that the history stores.
Nothing here reads a clock or does I/O; every instant is passed in, timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logistics.domain.journey import (
    STAGE,
    WITH_CARRIER,
    Actor,
    JourneyState,
    LegDirection,
    LegMethod,
    LegStatus,
    can_cancel,
    can_dispatch,
    leg_status_advances,
    state_after_receipt,
    state_at,
)
from logistics.domain.references import pickup_reference
from logistics.domain.routing import Device, Entitlement, SiteAddress, TurnaroundTargets
from logistics.domain.timeline import FLAG_CODES, LegTimeline, Scan, leg_timeline

#: What a carrier's acceptance scan means on an inbound leg, by how the leg leaves the customer.
_ACCEPTANCE = {
    LegMethod.COURIER_PICKUP: LegStatus.PICKED_UP,
    LegMethod.CUSTOMER_DROP_OFF: LegStatus.DROPPED_OFF,
}


def _as_acceptance(scan: Scan, method: LegMethod) -> Scan:
    if scan.status in _ACCEPTANCE.values() and scan.status is not _ACCEPTANCE[method]:
        return dataclasses.replace(scan, status=_ACCEPTANCE[method])
    return scan


class DomainRuleError(Exception):
    """A request that the journey's rules refuse; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Slot(_Model):
    """A pickup slot: local date and times in the site's zone, and the same window as UTC instants."""

    local_date: date
    ready_time: time
    close_time: time
    time_zone: str
    ready_at: datetime
    close_at: datetime


class Leg(_Model):
    direction: LegDirection
    method: LegMethod
    carrier: str
    status: LegStatus = LegStatus.BOOKING_PENDING
    status_at: datetime | None = None
    booking_reference: str
    tracking_number: str | None = None
    shipment_id: str | None = None
    routing_code: str | None = None
    pickup: Slot | None = None
    pickup_confirmation: str | None = None
    pickup_round: int = 1  # a rescheduled pickup is a new booking with a new reference
    carrier_label: bool = False  # the carrier supplied its own label image
    steps: dict[str, datetime] = Field(default_factory=dict)
    """The carrier statuses the leg has passed through, each dated by the earliest scan reporting it."""
    last_error: str | None = None

    @property
    def pickup_reference(self) -> str:
        """Our reference for the leg's current courier pickup booking (one per round)."""
        return pickup_reference(self.booking_reference, self.pickup_round)


class Flag(_Model):
    """An exception condition beside the state: raised with a reason, possibly cleared later."""

    code: str
    reason: str
    raised_at: datetime
    leg: LegDirection | None = None
    cleared_at: datetime | None = None


class Change(_Model):
    """One entry for the append-only history, before it has a sequence number."""

    kind: Literal[
        "created",
        "state_changed",
        "leg_status",
        "booking",
        "label",
        "flag_raised",
        "flag_cleared",
        "discrepancy",
        "ignored_event",
        "rescheduled",
        "outcome",
        "turnaround",
        "redated",
    ]
    occurred_at: datetime
    actor: Actor
    source: str = Field(description="the source event: request id, carrier event id, scan id")
    leg: LegDirection | None = None
    from_state: JourneyState | None = None
    to_state: JourneyState | None = None
    status: LegStatus | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ReceiptCheck(_Model):
    """What the repair centre found in the box, compared with the packing slip."""

    condition: str = "as_expected"
    items_received: tuple[str, ...] = ()
    drive_present: bool | None = None
    note: str | None = None  # the centre's own words on what it found


class DeclaredParcel(_Model):
    """One piece as declared to carriers and printed on the labels, worked out when the repair was created."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight_kg: Decimal
    length_cm: int
    width_cm: int
    height_cm: int
    description: str = "Computer for repair"
    contains_lithium_battery: bool = False


class WorkWeek(_Model):
    """A region's working days and closures as routing used them: the coverage checked them when it was
    loaded, and ``WorkDays`` reads them into rules when a clock needs them. Kept plain, since every read of
    the repair reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_days: tuple[str, ...]
    closed: tuple[str, ...] = ()


class Routed(_Model):
    """What routing decided when the repair was created, kept so that the repair reads the same later even
    if the coverage changes: the customer's drop-off text and ship-by date, the parcels, the return carrier,
    and the calendar (zone, subdivision, working days) the site's days are counted in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drop_off: str | None = None
    ship_by: date | None = None
    parcels: tuple[DeclaredParcel, ...] = ()
    return_carrier: str | None = None
    site_time_zone: str | None = None
    site_calendar_subdivision: str | None = None
    site_business_days: WorkWeek | None = None


class Repair(_Model):
    id: str
    case_id: str
    centre_id: str
    region_id: str | None
    language: str
    site: SiteAddress
    device: Device
    entitlement: Entitlement
    routed: Routed = Routed()
    include_self_test_results: bool = False
    state: JourneyState
    inbound: Leg
    outbound: Leg | None = None
    flags: list[Flag] = Field(default_factory=list)
    outcome: Literal["repaired", "replaced"] | None = None
    replacement_serial: str | None = None
    turnaround: TurnaroundTargets | None = None
    turnaround_status: Literal["on_track", "at_risk", "breached"] = "on_track"
    state_since: dict[str, datetime] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime

    def leg(self, direction: LegDirection) -> Leg | None:
        return self.inbound if direction is LegDirection.INBOUND else self.outbound

    def _move(self, to: JourneyState, at: datetime, actor: Actor, source: str, **details: Any) -> Change:
        change = Change(
            kind="state_changed",
            occurred_at=at,
            actor=actor,
            source=source,
            from_state=self.state,
            to_state=to,
            details=details,
        )
        self.state = to
        self.state_since[to.value] = at
        self.updated_at = max(self.updated_at, at)
        return change

    def _set_leg_status(
        self, leg: Leg, status: LegStatus, at: datetime, actor: Actor, source: str, details: dict[str, Any]
    ) -> Change:
        leg.status = status
        leg.status_at = at
        self.updated_at = max(self.updated_at, at)
        return Change(
            kind="leg_status",
            occurred_at=at,
            actor=actor,
            source=source,
            leg=leg.direction,
            status=status,
            details=details,
        )

    def cancel(self, at: datetime, source: str, reason: str) -> list[Change]:
        if self.state is JourneyState.CANCELLED:
            return []
        if not can_cancel(self.state) or self.inbound.status in (
            LegStatus.PICKED_UP,
            LegStatus.DROPPED_OFF,
            LegStatus.IN_TRANSIT,
        ):
            raise DomainRuleError(
                "repair.not_cancellable", f"the device is already {self.state.value.replace('_', ' ')}"
            )
        leg_change = self._set_leg_status(self.inbound, LegStatus.CANCELLED, at, Actor.CASE_SYSTEM, source, {})
        return [leg_change, self._move(JourneyState.CANCELLED, at, Actor.CASE_SYSTEM, source, reason=reason)]

    def opened_at(self, direction: LegDirection) -> datetime:
        """When a leg came to be: the repair's creation inbound, the device's arrival at the centre outbound."""
        if direction is LegDirection.OUTBOUND:
            return self.state_since.get(JourneyState.AT_CENTRE.value, self.created_at)
        return self.created_at

    def follow_scans(
        self,
        direction: LegDirection,
        scans: Sequence[Scan],
        fresh: Sequence[Scan],
        *,
        skew: timedelta = timedelta(0),
    ) -> list[Change]:
        """Bring the journey up to date with the carrier's scans of one leg: ``scans`` are all the leg's scans
        (those recorded before and the ``fresh`` ones), ``fresh`` the ones that have just arrived.

        What the scans prove is read in the carrier's time order (``logistics.domain.timeline``), and only the
        difference with what was already recorded becomes history: a step the carrier reports late is
        recorded in the past where it belongs (marked ``late``), a step proved by a later scan before its own
        arrives is recorded with the proving scan's time (marked ``inferred``), and a step already recorded
        that an earlier scan now proves is ``redated``. The journey never moves backwards. A fresh scan that
        teaches nothing is recorded as ``ignored_event``.

        A scan dated before its leg came to be (give or take ``skew``, the clocks' disagreement) is kept but
        proves nothing: however old, an event never rewinds the journey or its clocks.
        """
        leg = self.leg(direction)
        if leg is None:
            return [_ignored(scan, direction, "no such leg") for scan in fresh]
        if leg.method in _ACCEPTANCE:
            # Carriers rarely tell a collection from a hand-in (La Poste says "pris en charge" for both): our
            # own booking does. On the way in, the acceptance scan of a leg we booked a pickup for is the
            # pickup, and of a leg the customer ships, the drop-off.
            scans = [_as_acceptance(scan, leg.method) for scan in scans]
            fresh = [_as_acceptance(scan, leg.method) for scan in fresh]
        opened = self.opened_at(direction) - skew
        timeline = leg_timeline(scan for scan in scans if scan.at >= opened)
        changes: list[Change] = [
            _ignored(scan, direction, "dated before the leg existed") for scan in fresh if scan.at < opened
        ]
        self._follow_steps(leg, timeline, changes)
        self._follow_episodes(direction, timeline, changes)
        self._follow_custody(direction, timeline, changes)
        for scan in sorted(fresh, key=lambda s: s.key):
            if scan.status in WITH_CARRIER or scan.status in FLAG_CODES:
                continue
            if leg_status_advances(leg.status, scan.status) and self.state is not JourneyState.CANCELLED:
                changes.append(
                    self._set_leg_status(leg, scan.status, scan.at, Actor.CARRIER, scan.source, scan.details)
                )
        taught = {change.source for change in changes}
        changes += [
            _ignored(scan, direction, f"leg already {leg.status.value}")
            for scan in sorted(fresh, key=lambda s: s.key)
            if scan.source not in taught
        ]
        return changes

    def _follow_steps(self, leg: Leg, timeline: LegTimeline, changes: list[Change]) -> None:
        for status, scan in sorted(timeline.steps.items(), key=lambda item: item[1].key):
            recorded = leg.steps.get(status.value)
            if recorded is None:
                leg.steps[status.value] = scan.at
                if leg_status_advances(leg.status, status) and self.state is not JourneyState.CANCELLED:
                    changes.append(self._set_leg_status(leg, status, scan.at, Actor.CARRIER, scan.source, scan.details))
                else:  # a step of the leg's past: its scan arrived after a further one
                    late = _scan_change("leg_status", scan, leg.direction, {**scan.details, "late": True})
                    changes.append(late.model_copy(update={"status": status}))
            elif scan.at < recorded:
                leg.steps[status.value] = scan.at
                if leg.status is status:
                    leg.status_at = scan.at
                changes.append(_redated(scan, leg.direction, "leg_status", recorded, status=status.value))

    def _follow_episodes(self, direction: LegDirection, timeline: LegTimeline, changes: list[Change]) -> None:
        matched: set[int] = set()
        for episode in timeline.episodes:
            times = {scan.at for scan in episode.scans}
            flag = next(
                (
                    f
                    for f in self.flags
                    if f.leg is direction and f.code == episode.code and f.raised_at in times and id(f) not in matched
                ),
                None,
            )
            first = episode.first
            if flag is None:
                reason = str(first.details.get("description") or first.status.value)
                flag = self._raise_carrier_flag(episode.code, reason, first, direction, changes)
            elif first.at < flag.raised_at:
                changes.append(_redated(first, direction, "flag_raised", flag.raised_at, code=episode.code))
                flag.raised_at = first.at
            matched.add(id(flag))
            clear = episode.cleared_by
            if clear is None:
                continue
            if flag.cleared_at is None:
                flag.cleared_at = clear.at
                changes.append(_cleared(flag, clear, direction))
            elif clear.at < flag.cleared_at:
                changes.append(_redated(clear, direction, "flag_cleared", flag.cleared_at, code=episode.code))
                flag.cleared_at = clear.at

    def _follow_custody(self, direction: LegDirection, timeline: LegTimeline, changes: list[Change]) -> None:
        first = timeline.first_custody()
        if first is None:
            return
        if self.state is JourneyState.CANCELLED:
            self._flag_moved_after_cancel(direction, first, changes)
            return
        if direction is LegDirection.INBOUND:
            self._prove(JourneyState.IN_TRANSIT_TO_CENTRE, first, changes, inferred=False)
            return
        self._prove(JourneyState.IN_TRANSIT_TO_CUSTOMER, first, changes, inferred=first.status is LegStatus.DELIVERED)
        delivered = timeline.steps.get(LegStatus.DELIVERED)
        if delivered is not None:
            self._prove(JourneyState.DELIVERED, delivered, changes, inferred=False)

    def _prove(self, target: JourneyState, scan: Scan, changes: list[Change], *, inferred: bool) -> None:
        """Record that ``scan`` proves the journey was in ``target`` from ``scan.at`` on."""
        since = self.state_since.get(target.value)
        if since is not None:
            if scan.at < since:
                changes.append(_redated(scan, None, "state_changed", since, state=target.value))
                self.state_since[target.value] = scan.at
            return
        details: dict[str, Any] = {"carrier_status": scan.status.value}
        if inferred:
            details["inferred"] = True
        if STAGE[target] > STAGE[self.state]:
            changes.append(self._move(target, scan.at, Actor.CARRIER, scan.source, **details))
            return
        # The journey went further already. The step is still part of its past if the scan comes before
        # every later step (a centre that scanned the device in before the carrier's first scan arrived).
        later = [at for name, at in self.state_since.items() if STAGE[JourneyState(name)] > STAGE[target]]
        if any(at <= scan.at for at in later):
            return
        changes.append(
            Change(
                kind="state_changed",
                occurred_at=scan.at,
                actor=Actor.CARRIER,
                source=scan.source,
                from_state=state_at(self.state_since, scan.at, self.state),
                to_state=target,
                details={**details, "late": True},
            )
        )
        self.state_since[target.value] = scan.at

    def _flag_moved_after_cancel(self, direction: LegDirection, scan: Scan, changes: list[Change]) -> None:
        code = "carrier.moved_after_cancel"
        if any(f.code == code and f.leg is direction for f in self.flags):
            return
        reason = "the carrier reports the device moving although the repair was cancelled"
        self._raise_carrier_flag(code, reason, scan, direction, changes)

    def _raise_carrier_flag(
        self, code: str, reason: str, scan: Scan, direction: LegDirection, changes: list[Change]
    ) -> Flag:
        """A flag a carrier's scan raises, and its history entry."""
        flag = Flag(code=code, reason=reason, raised_at=scan.at, leg=direction)
        self.flags.append(flag)
        changes.append(_scan_change("flag_raised", scan, direction, {**scan.details, "code": code}))
        return flag

    def receive(
        self,
        at: datetime,
        source: str,
        check: ReceiptCheck,
        expected_items: tuple[str, ...],
        drive_must_be_absent: bool,
    ) -> list[Change]:
        target = state_after_receipt(self.state)
        if target is None:
            raise DomainRuleError(
                "receipt.not_expected",
                f"the device cannot be received while {self.state.value.replace('_', ' ')}",
            )
        noted = {"note": check.note} if check.note else {}
        changes = [
            self._move(
                target,
                at,
                Actor.REPAIR_CENTRE,
                source,
                condition=check.condition,
                items_received=list(check.items_received),
                **noted,
            )
        ]
        problems: list[str] = []
        missing = sorted(set(expected_items) - set(check.items_received))
        unexpected = sorted(set(check.items_received) - set(expected_items))
        if missing:
            problems.append("missing items: " + ", ".join(missing))
        if unexpected:
            problems.append("items not on the packing slip: " + ", ".join(unexpected))
        if drive_must_be_absent and check.drive_present:
            problems.append("the drive was in the box although Defective Media Retention applies")
        if check.condition != "as_expected":
            problems.append(f"condition on arrival: {check.condition}")
        if problems:
            reason = "; ".join(problems)
            self.flags.append(Flag(code="receipt.discrepancy", reason=reason, raised_at=at, leg=LegDirection.INBOUND))
            changes.append(
                Change(
                    kind="discrepancy",
                    occurred_at=at,
                    actor=Actor.REPAIR_CENTRE,
                    source=source,
                    leg=LegDirection.INBOUND,
                    details={"problems": problems},
                )
            )
        return changes

    def dispatch(
        self,
        at: datetime,
        source: str,
        outcome: Literal["repaired", "replaced"],
        replacement_serial: str | None,
        outbound: Leg,
        self_test_passed: bool | None = None,
    ) -> list[Change]:
        """The centre sends the unit back: the outcome, the new serial of a replacement, and the result of the
        power-on self-test run before dispatch (None: not reported)."""
        if not can_dispatch(self.state) or self.outbound is not None:
            raise DomainRuleError(
                "dispatch.not_possible",
                "the device is not at the centre" if self.outbound is None else "the device was already dispatched",
            )
        if outcome == "replaced" and not replacement_serial:
            raise DomainRuleError("dispatch.replacement_serial_required", "a replacement needs the new serial")
        self.outcome = outcome
        self.replacement_serial = replacement_serial if outcome == "replaced" else None
        self.outbound = outbound
        self.updated_at = max(self.updated_at, at)
        return [
            Change(
                kind="outcome",
                occurred_at=at,
                actor=Actor.REPAIR_CENTRE,
                source=source,
                leg=LegDirection.OUTBOUND,
                details={
                    "outcome": outcome,
                    "replacement_serial": self.replacement_serial,
                    "self_test_passed": self_test_passed,
                },
            )
        ]

    def record_booking(
        self,
        direction: LegDirection,
        at: datetime,
        source: str,
        *,
        tracking_number: str | None,
        shipment_id: str | None,
        routing_code: str | None,
        pickup_confirmation: str | None,
        carrier_label: bool,
    ) -> list[Change]:
        leg = self.leg(direction)
        assert leg is not None
        leg.tracking_number = tracking_number or leg.tracking_number
        leg.shipment_id = shipment_id or leg.shipment_id
        leg.routing_code = routing_code or leg.routing_code
        leg.pickup_confirmation = pickup_confirmation or leg.pickup_confirmation
        leg.carrier_label = leg.carrier_label or carrier_label
        leg.last_error = None
        new_status = LegStatus.PICKUP_SCHEDULED if leg.pickup_confirmation else LegStatus.LABEL_CREATED
        changes = [
            Change(
                kind="booking",
                occurred_at=at,
                actor=Actor.SERVICE,
                source=source,
                leg=direction,
                details={
                    "carrier": leg.carrier,
                    "tracking_number": leg.tracking_number,
                    "pickup_confirmation": leg.pickup_confirmation,
                },
            )
        ]
        if self.state is not JourneyState.CANCELLED and leg_status_advances(leg.status, new_status):
            changes.append(self._set_leg_status(leg, new_status, at, Actor.SERVICE, source, {}))
        self.updated_at = max(self.updated_at, at)
        return changes

    def reschedule(self, slot: Slot, at: datetime, source: str, actor: Actor = Actor.CASE_SYSTEM) -> list[Change]:
        if self.state is not JourneyState.AWAITING_PICKUP or self.inbound.method is not LegMethod.COURIER_PICKUP:
            raise DomainRuleError("reschedule.not_possible", "only a courier pickup that has not happened can move")
        previous = self.inbound.pickup
        self.inbound.pickup = slot
        self.inbound.pickup_confirmation = None
        self.inbound.pickup_round += 1
        self.updated_at = max(self.updated_at, at)
        changes = [
            Change(
                kind="rescheduled",
                occurred_at=at,
                actor=actor,
                source=source,
                leg=LegDirection.INBOUND,
                details={
                    "from": previous.model_dump(mode="json") if previous else None,
                    "to": slot.model_dump(mode="json"),
                },
            )
        ]
        # The pickup booked for the old slot is no longer the leg's: back to waiting for the new one.
        waiting = LegStatus.LABEL_CREATED if self.inbound.tracking_number else LegStatus.BOOKING_PENDING
        if self.inbound.status is not waiting:
            changes.append(self._set_leg_status(self.inbound, waiting, at, actor, source, {}))
        return changes

    def record_turnaround(
        self,
        status: Literal["on_track", "at_risk", "breached"],
        at: datetime,
        source: str,
        leg: LegDirection | None,
        details: dict[str, Any],
    ) -> list[Change]:
        """The turnaround clock's reading changed the repair's status (``details``: what it read)."""
        previous = self.turnaround_status
        if status == previous:
            return []
        self.turnaround_status = status
        self.updated_at = max(self.updated_at, at)
        return [
            Change(
                kind="turnaround",
                occurred_at=at,
                actor=Actor.SERVICE,
                source=source,
                leg=leg,
                details={"from": previous, "to": status, **details},
            )
        ]

    def flag_booking_failed(
        self, direction: LegDirection, at: datetime, source: str, operation: str, error: str
    ) -> Change:
        """A booking of the leg failed for good: its last error, and one open flag (with the latest reason)
        for a person to act on."""
        leg = self.leg(direction)
        if leg is not None:
            leg.last_error = error
        open_flag = self._open_flag("booking.failed", direction)
        if open_flag is None:
            self.flags.append(Flag(code="booking.failed", reason=error, raised_at=at, leg=direction))
        else:  # failed again after a retry
            open_flag.reason = error
        return self._service_flag_change(direction, at, source, "booking.failed", operation=operation, error=error)

    def clear_booking_failure(self, direction: LegDirection, at: datetime, source: str, operation: str) -> list[Change]:
        """A booking of the leg that failed before is now made (retried after a fix): its flag is cleared."""
        changes: list[Change] = []
        for flag in self.flags:
            if flag.code == "booking.failed" and flag.leg is direction and flag.cleared_at is None:
                flag.cleared_at = at
                changes.append(
                    Change(
                        kind="flag_cleared",
                        occurred_at=at,
                        actor=Actor.SERVICE,
                        source=source,
                        leg=direction,
                        details={"code": flag.code, "operation": operation},
                    )
                )
        return changes

    def flag_pickup_not_cancelled(
        self, direction: LegDirection, at: datetime, source: str, operation: str, error: str
    ) -> Change:
        """The carrier would not cancel a courier nobody needs any more: a person calls it off."""
        self.flags.append(Flag(code="pickup.not_cancelled", reason=error, raised_at=at, leg=direction))
        return self._service_flag_change(
            direction, at, source, "pickup.not_cancelled", operation=operation, error=error
        )

    def flag_label_not_carriers(self, direction: LegDirection, at: datetime, source: str, reason: str) -> Change:
        """The leg's label is drawn by us, not the carrier's: an operator gets the carrier's label by hand."""
        self.flags.append(Flag(code="label.not_carriers", reason=reason, raised_at=at, leg=direction))
        return self._service_flag_change(direction, at, source, "label.not_carriers", error=reason)

    def _open_flag(self, code: str, direction: LegDirection) -> Flag | None:
        return next((f for f in self.flags if f.code == code and f.leg is direction and f.cleared_at is None), None)

    def _service_flag_change(
        self, direction: LegDirection, at: datetime, source: str, code: str, **details: str
    ) -> Change:
        return Change(
            kind="flag_raised",
            occurred_at=at,
            actor=Actor.SERVICE,
            source=source,
            leg=direction,
            details={"code": code, **details},
        )


def _scan_change(
    kind: Literal["leg_status", "flag_raised", "flag_cleared", "ignored_event", "redated"],
    scan: Scan,
    direction: LegDirection | None,
    details: dict[str, Any],
) -> Change:
    """A history entry a carrier's scan causes, dated by the scan."""
    return Change(
        kind=kind,
        occurred_at=scan.at,
        actor=Actor.CARRIER,
        source=scan.source,
        leg=direction,
        status=scan.status,
        details=details,
    )


def _ignored(scan: Scan, direction: LegDirection, why: str) -> Change:
    return _scan_change("ignored_event", scan, direction, {**scan.details, "why": why})


def _cleared(flag: Flag, scan: Scan, direction: LegDirection) -> Change:
    return _scan_change("flag_cleared", scan, direction, {"code": flag.code})


def _redated(scan: Scan, direction: LegDirection | None, of: str, was: datetime, **what: str) -> Change:
    """An earlier scan proves a recorded step (or the start or end of a flag) happened before it was dated."""
    return _scan_change(
        "redated", scan, direction, {"of": of, **what, "was": was.isoformat(), "now": scan.at.isoformat()}
    )
