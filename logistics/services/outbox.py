"""The booking outbox's vocabulary: what an intent does, where it stands, how its reference is spelled, and
the named writes that move it on. ``bookings`` runs the intents; this module only names them.

The references the intents are booked under follow one grammar, ``logistics.domain.references``.

Nothing here calls a carrier or reads a clock; the transaction is the caller's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import JsonValue

from carriers import PickupRequest, ShipmentRequest
from logistics.domain.journey import LegDirection
from logistics.domain.references import cancellation_reference, void_reference
from logistics.services.ports import BookingIntent, Transaction

JsonObject = dict[str, JsonValue]


def json_object(value: JsonValue) -> JsonObject:
    """``value`` read as the JSON object an intent's request or result holds there (a carrier's booking)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, found {type(value).__name__}")
    return value


"""An intent's request or result as stored: a JSON object, read back with the carrier model it came from."""


class IntentStatus(enum.StrEnum):
    """Where an intent stands. Stored as these strings."""

    PENDING = "pending"  # due at ``next_attempt_at`` (or leased until then by an attempt)
    DONE = "done"  # the carrier answered; ``result`` holds the answer
    FAILED = "failed"  # refused for good, or cannot be made safely: a person acts (flag on the repair)
    CANCELLED = "cancelled"  # no longer wanted, and the carrier holds nothing under it


class Operation(enum.StrEnum):
    """What an intent asks of its carrier. Stored as these strings."""

    CREATE_SHIPMENT = "create_shipment"
    SCHEDULE_PICKUP = "schedule_pickup"
    CANCEL_PICKUP = "cancel_pickup"
    CANCEL_PICKUP_IF_BOOKED = "cancel_pickup_if_booked"  # looked up first: it may not exist
    VOID_SHIPMENT = "void_shipment"

    @classmethod
    def named(cls, operation: str) -> Operation | None:
        """The operation a stored intent names; None for one this release does not know."""
        try:
            return cls(operation)
        except ValueError:
            return None


#: Operations that book something at the carrier (and may have booked it already when retried).
CREATES = frozenset({Operation.CREATE_SHIPMENT, Operation.SCHEDULE_PICKUP})
#: Operations that call a courier off.
CANCELS = frozenset({Operation.CANCEL_PICKUP, Operation.CANCEL_PICKUP_IF_BOOKED})
#: Operations that undo a booking: once done, the repair has nothing to record.
UNDOES = CANCELS | {Operation.VOID_SHIPMENT}


def new_intent(
    reference: str,
    repair_id: str,
    leg: LegDirection,
    operation: Operation,
    carrier: str,
    request: JsonObject,
    now: datetime,
    *,
    lease: timedelta | None = None,
    carrier_request: ShipmentRequest | PickupRequest | None = None,
) -> BookingIntent:
    """A pending intent; with a ``lease`` when the caller will attempt it itself right after the commit.
    ``carrier_request`` is ``request`` as a carrier model, when the caller has it (saves re-reading it)."""
    return BookingIntent(
        reference=reference,
        repair_id=repair_id,
        leg=leg,
        operation=operation,
        carrier=carrier,
        request=request,
        carrier_request=carrier_request,
        status=IntentStatus.PENDING,
        attempts=1 if lease else 0,
        next_attempt_at=now + lease if lease else now,
        last_error=None,
        result=None,
        created_at=now,
    )


def cancellation(intent: BookingIntent, pickup: JsonObject, now: datetime) -> BookingIntent:
    """Call off the courier ``intent`` booked (``pickup``: the carrier's pickup booking as stored)."""
    return _undoing(intent, cancellation_reference, Operation.CANCEL_PICKUP, pickup, now)


def void(intent: BookingIntent, shipment: JsonObject, now: datetime) -> BookingIntent:
    """Void the shipment ``intent`` booked (``shipment``: the carrier's shipment booking as stored)."""
    return _undoing(intent, void_reference, Operation.VOID_SHIPMENT, shipment, now)


def _undoing(
    intent: BookingIntent, reference_of: Callable[[str], str], operation: Operation, booked: JsonObject, now: datetime
) -> BookingIntent:
    return new_intent(
        reference_of(intent.reference), intent.repair_id, intent.leg, operation, intent.carrier, booked, now
    )


# The named writes: every change of an intent's status goes through one of these.


async def mark_pending(
    tx: Transaction, intent: BookingIntent, *, attempts: int, due: datetime, last_error: str | None, now: datetime
) -> None:
    """Due again at ``due`` (a retry after a transient failure, or a failed booking put back)."""
    await _write(tx, intent, IntentStatus.PENDING, now, attempts=attempts, due=due, error=last_error)


async def mark_done(tx: Transaction, intent: BookingIntent, result: JsonObject, now: datetime) -> None:
    await _write(tx, intent, IntentStatus.DONE, now, result=result)


async def mark_failed(tx: Transaction, intent: BookingIntent, error: str, now: datetime) -> None:
    await _write(tx, intent, IntentStatus.FAILED, now, error=error)


async def mark_cancelled(tx: Transaction, intent: BookingIntent, why: str, now: datetime) -> None:
    await _write(tx, intent, IntentStatus.CANCELLED, now, error=why)


async def _write(
    tx: Transaction,
    intent: BookingIntent,
    status: IntentStatus,
    now: datetime,
    *,
    attempts: int | None = None,
    due: datetime | None = None,
    error: str | None = None,
    result: JsonObject | None = None,
) -> None:
    """The port's one write of an intent: its attempts kept unless given, due now unless given."""
    await tx.update_intent(
        intent.reference,
        status=status,
        attempts=intent.attempts if attempts is None else attempts,
        next_attempt_at=now if due is None else due,
        last_error=error,
        result=result,
        now=now,
    )


async def compensate(tx: Transaction, intent: BookingIntent | None, why: str, now: datetime) -> list[BookingIntent]:
    """Undo what ``intent`` booked, or stop it if it never ran: the one compensation path of a cancel, a
    reschedule and a receipt before the courier came. Returns the undoing intents it queued.

    - never attempted: cancelled, with ``why``, and nothing reaches the carrier;
    - done: its pickup is called off and its shipment voided (what its result holds);
    - attempted but not done: in flight or waiting for a retry. In flight, what it books is undone when it
      lands; retried, it is only looked up, and undone if an earlier attempt booked it. Nothing to do here.
    """
    if intent is None:
        return []
    if intent.status == IntentStatus.PENDING and intent.attempts == 0:
        await mark_cancelled(tx, intent, why, now)
        return []
    if intent.status != IntentStatus.DONE or not intent.result:
        return []
    undoing: list[BookingIntent] = []
    pickup, shipment = intent.result.get("pickup"), intent.result.get("shipment")
    if isinstance(pickup, dict):
        undoing.append(cancellation(intent, pickup, now))
    if isinstance(shipment, dict):
        undoing.append(void(intent, shipment, now))
    for undo in undoing:
        await tx.add_intent(undo)
    return undoing
