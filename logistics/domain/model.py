"""One repair's logistics as an aggregate: the case, the device, two legs, the journey state, its flags.

Pure: methods change the aggregate in memory and return the ``Change`` records that the history stores.
Nothing here reads a clock or does I/O; every instant is passed in, timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logistics.domain.journey import (
    Actor,
    JourneyState,
    LegDirection,
    LegMethod,
    LegStatus,
    can_cancel,
    can_dispatch,
    leg_status_advances,
    state_after_carrier_status,
    state_after_receipt,
)


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
    last_error: str | None = None

    @property
    def pickup_reference(self) -> str:
        """Our reference for the leg's current courier pickup booking (one per round)."""
        return f"{self.booking_reference}-p{self.pickup_round}"


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


class Repair(_Model):
    id: str
    case_id: str
    centre_id: str
    region_id: str | None
    language: str
    site: dict[str, Any]
    device: dict[str, Any]
    entitlement: dict[str, Any]
    state: JourneyState
    inbound: Leg
    outbound: Leg | None = None
    flags: list[Flag] = Field(default_factory=list)
    outcome: Literal["repaired", "replaced"] | None = None
    replacement_serial: str | None = None
    turnaround: dict[str, Any] | None = None
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

    def apply_carrier_status(
        self,
        direction: LegDirection,
        status: LegStatus,
        at: datetime,
        source: str,
        details: dict[str, Any],
        *,
        is_newest: bool = True,
    ) -> list[Change]:
        """Apply one new carrier event.

        The leg's status only moves forward. An exception (or a return to sender) is a flag that stays open
        while it is the newest event of the leg; any newer event clears it, a problem of the other kind too.
        ``is_newest`` says whether this event is the newest the leg has, by the carrier's own time, so any
        arrival order ends the same.
        """
        leg = self.leg(direction)
        if leg is None:
            return [
                Change(
                    kind="ignored_event",
                    occurred_at=at,
                    actor=Actor.CARRIER,
                    source=source,
                    leg=direction,
                    status=status,
                    details={**details, "why": "no such leg"},
                )
            ]
        changes: list[Change] = []
        flagging = status in (LegStatus.EXCEPTION, LegStatus.RETURNED_TO_SENDER)
        code = "carrier.exception" if status is LegStatus.EXCEPTION else "carrier.returned_to_sender"
        if is_newest:
            # The newest event alone decides which carrier flag is open on the leg: any newer event, another
            # kind of problem included, clears the flags older ones raised.
            for flag in self.flags:
                if (
                    flag.leg is direction
                    and flag.cleared_at is None
                    and flag.code.startswith("carrier.")
                    and not (flagging and flag.code == code)
                ):
                    flag.cleared_at = at
                    changes.append(
                        Change(
                            kind="flag_cleared",
                            occurred_at=at,
                            actor=Actor.CARRIER,
                            source=source,
                            leg=direction,
                            details={"code": flag.code},
                        )
                    )
        already_open = any(f.code == code and f.leg is direction and f.cleared_at is None for f in self.flags)
        if flagging and is_newest and not already_open:
            self.flags.append(
                Flag(
                    code=code,
                    reason=str(details.get("description") or status.value),
                    raised_at=at,
                    leg=direction,
                )
            )
            changes.append(
                Change(
                    kind="flag_raised",
                    occurred_at=at,
                    actor=Actor.CARRIER,
                    source=source,
                    leg=direction,
                    status=status,
                    details=details,
                )
            )
        if leg_status_advances(leg.status, status):
            changes.append(self._set_leg_status(leg, status, at, Actor.CARRIER, source, details))
        elif status is not LegStatus.EXCEPTION:
            changes.append(
                Change(
                    kind="ignored_event",
                    occurred_at=at,
                    actor=Actor.CARRIER,
                    source=source,
                    leg=direction,
                    status=status,
                    details={**details, "why": f"leg already {leg.status.value}"},
                )
            )
        # Even a scan that teaches the leg nothing new proves who holds the device.
        target = state_after_carrier_status(self.state, direction, status)
        if target is not self.state:
            changes.append(self._move(target, at, Actor.CARRIER, source, carrier_status=status.value))
        return changes
        leg.status = status
        leg.status_at = at
        changes.append(
            Change(
                kind="leg_status",
                occurred_at=at,
                actor=Actor.CARRIER,
                source=source,
                leg=direction,
                status=status,
                details=details,
            )
        )
        target = state_after_carrier_status(self.state, direction, status)
        if target is not self.state:
            changes.append(self._move(target, at, Actor.CARRIER, source, carrier_status=status.value))
        return changes

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
        changes = [
            self._move(
                target,
                at,
                Actor.REPAIR_CENTRE,
                source,
                condition=check.condition,
                items_received=list(check.items_received),
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
    ) -> list[Change]:
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
                details={"outcome": outcome, "replacement_serial": self.replacement_serial},
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
