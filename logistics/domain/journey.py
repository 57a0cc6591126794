"""The journey of one device, as an explicit state machine. Pure: no I/O, no clock.

States, in the order a device passes through them::

    awaiting_pickup ─┐
                     ├─> in_transit_to_centre ─> at_centre ─> in_transit_to_customer ─> delivered
    awaiting_drop_off┘
    (any state before the device is with the carrier) ─> cancelled

A journey never moves backwards. Carrier events are read by the carrier's own clock, not by arrival
(``logistics.domain.timeline``): a late event that proves an earlier step is recorded in the past where it
belongs, one that would move the journey to an earlier stage changes nothing. Exceptions (damage, delay,
failed delivery, a discrepancy at receipt) are not states: they are flagged conditions with reasons, raised
and cleared beside the state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime


class JourneyState(enum.StrEnum):
    AWAITING_PICKUP = "awaiting_pickup"
    AWAITING_DROP_OFF = "awaiting_drop_off"
    IN_TRANSIT_TO_CENTRE = "in_transit_to_centre"
    AT_CENTRE = "at_centre"
    IN_TRANSIT_TO_CUSTOMER = "in_transit_to_customer"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class LegDirection(enum.StrEnum):
    INBOUND = "inbound"  # customer site -> repair centre
    OUTBOUND = "outbound"  # repair centre -> customer site


class LegMethod(enum.StrEnum):
    COURIER_PICKUP = "courier_pickup"
    CUSTOMER_DROP_OFF = "customer_drop_off"
    CENTRE_DISPATCH = "centre_dispatch"


class LegStatus(enum.StrEnum):
    """Normalised status of one leg. Carrier adapters report the same vocabulary; the service maps by value."""

    LABEL_CREATED = "label_created"
    PICKUP_SCHEDULED = "pickup_scheduled"
    PICKED_UP = "picked_up"
    DROPPED_OFF = "dropped_off"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AWAITING_COLLECTION = "awaiting_collection"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    BOOKING_PENDING = "booking_pending"  # our booking intent is recorded; the carrier has not confirmed yet


class Actor(enum.StrEnum):
    """Who or what caused a recorded change."""

    CASE_SYSTEM = "case_system"
    CUSTOMER = "customer"
    CARRIER = "carrier"
    REPAIR_CENTRE = "repair_centre"
    SERVICE = "service"  # the logistics service itself: booking worker, turnaround clock


STAGE: dict[JourneyState, int] = {
    JourneyState.AWAITING_PICKUP: 0,
    JourneyState.AWAITING_DROP_OFF: 0,
    JourneyState.IN_TRANSIT_TO_CENTRE: 1,
    JourneyState.AT_CENTRE: 2,
    JourneyState.IN_TRANSIT_TO_CUSTOMER: 3,
    JourneyState.DELIVERED: 4,
    JourneyState.CANCELLED: 5,
}

# Stage of a leg's normalised carrier status; a leg's status never moves to a lower stage.
LEG_STAGE: dict[LegStatus, int] = {
    LegStatus.UNKNOWN: 0,
    LegStatus.BOOKING_PENDING: 0,
    LegStatus.LABEL_CREATED: 1,
    LegStatus.PICKUP_SCHEDULED: 2,
    LegStatus.PICKED_UP: 3,
    LegStatus.DROPPED_OFF: 3,
    LegStatus.IN_TRANSIT: 4,
    LegStatus.EXCEPTION: 4,  # a flag; it never advances or rewinds the leg by itself
    LegStatus.OUT_FOR_DELIVERY: 5,
    LegStatus.AWAITING_COLLECTION: 6,
    LegStatus.RETURNED_TO_SENDER: 7,
    LegStatus.DELIVERED: 8,
    LegStatus.CANCELLED: 9,
}

WITH_CARRIER = frozenset(
    {
        LegStatus.PICKED_UP,
        LegStatus.DROPPED_OFF,
        LegStatus.IN_TRANSIT,
        LegStatus.OUT_FOR_DELIVERY,
        LegStatus.AWAITING_COLLECTION,
        LegStatus.DELIVERED,
        LegStatus.RETURNED_TO_SENDER,  # the carrier has the parcel, on its way back
    }
)


def initial_state(method: LegMethod) -> JourneyState:
    if method is LegMethod.COURIER_PICKUP:
        return JourneyState.AWAITING_PICKUP
    return JourneyState.AWAITING_DROP_OFF


def is_terminal(state: JourneyState) -> bool:
    return state in (JourneyState.DELIVERED, JourneyState.CANCELLED)


def can_cancel(state: JourneyState) -> bool:
    """Cancellation is refused once the device is with the carrier (or beyond)."""
    return STAGE[state] == 0


def leg_status_advances(current: LegStatus, new: LegStatus) -> bool:
    """Whether a carrier status moves a leg forward. Exceptions never move it (they raise a flag)."""
    if new in (LegStatus.EXCEPTION, LegStatus.UNKNOWN):
        return False
    if current in (LegStatus.DELIVERED, LegStatus.CANCELLED):
        return False
    return LEG_STAGE[new] > LEG_STAGE[current]


def state_after_carrier_status(state: JourneyState, direction: LegDirection, status: LegStatus) -> JourneyState:
    """The journey state that a carrier status on one leg implies; ``state`` itself when it implies nothing new.

    Inbound "delivered" does not put the device at the centre: only the centre's receipt scan does, since the
    centre's scan is the proof of custody.
    """
    if is_terminal(state) or status not in WITH_CARRIER:
        return state
    if direction is LegDirection.INBOUND:
        target = JourneyState.IN_TRANSIT_TO_CENTRE
    elif status is LegStatus.DELIVERED:
        target = JourneyState.DELIVERED
    else:
        target = JourneyState.IN_TRANSIT_TO_CUSTOMER
    return target if STAGE[target] > STAGE[state] else state


def state_after_receipt(state: JourneyState) -> JourneyState | None:
    """The state after the repair centre scans the device in; None when a receipt is not possible now."""
    if state in (
        JourneyState.AWAITING_PICKUP,
        JourneyState.AWAITING_DROP_OFF,
        JourneyState.IN_TRANSIT_TO_CENTRE,
    ):
        return JourneyState.AT_CENTRE
    return None


def can_dispatch(state: JourneyState) -> bool:
    return state is JourneyState.AT_CENTRE


def state_at(state_since: Mapping[str, datetime], at: datetime, current: JourneyState) -> JourneyState:
    """The state a journey was in at ``at``, read from when it entered each state (``current`` if none)."""
    reached = [JourneyState(name) for name, since in state_since.items() if since <= at]
    if reached:
        return max(reached, key=STAGE.__getitem__)
    entered = [JourneyState(name) for name in state_since]
    return min(entered, key=STAGE.__getitem__) if entered else current


def custodian(state: JourneyState) -> Actor:
    """Who holds the device in a given state (chain of custody)."""
    if state in (JourneyState.AWAITING_PICKUP, JourneyState.AWAITING_DROP_OFF, JourneyState.DELIVERED):
        return Actor.CUSTOMER
    if state is JourneyState.AT_CENTRE:
        return Actor.REPAIR_CENTRE
    if state is JourneyState.CANCELLED:
        return Actor.CUSTOMER
    return Actor.CARRIER
