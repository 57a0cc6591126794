"""Carrier bookings through a durable outbox: never lost, never made twice.

Every carrier call that changes something is first recorded as a ``BookingIntent`` with a stable reference,
in the same transaction as the repair change that needs it. Then an attempt *claims* the intent (a lease
written and committed before the call), calls the carrier with that reference, and records the outcome.

- After a crash, or after an ambiguous failure, the lease expires and the next attempt first looks the
  booking up at the carrier by our reference; only if the carrier has nothing does it create again.
- Transient failures back off exponentially up to ``retry_max_s``; permanent refusals fail the intent and
  raise a flag on the repair, which the case system is told about.
- The request path runs an attempt inline so the caller usually gets the booking at once; the worker loop
  drains whatever is left (``run_due``), including everything left from before a restart.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from carriers import (
    CarrierAdapter,
    CarrierAmbiguousError,
    CarrierError,
    CarrierTransientError,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
)
from carriers.models import Capability
from logistics.clock import Clock
from logistics.domain.journey import Actor, JourneyState, LegDirection
from logistics.domain.model import Change, Flag
from logistics.services import carrier_requests
from logistics.services.notifications import record
from logistics.services.ports import BookingIntent, Store, Transaction

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # longer than a carrier call's overall deadline


def new_intent(
    reference: str,
    repair_id: str,
    leg: LegDirection,
    operation: str,
    carrier: str,
    request: dict[str, Any],
    now: datetime,
) -> BookingIntent:
    return BookingIntent(
        reference=reference,
        repair_id=repair_id,
        leg=leg,
        operation=operation,
        carrier=carrier,
        request=request,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_error=None,
        result=None,
    )


class Bookings:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        carriers: Mapping[str, CarrierAdapter],
        *,
        retry_max_s: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._carriers = carriers
        self._retry_max_s = retry_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def run_due(self, limit: int = 50) -> int:
        """Attempt every intent that is due; returns how many were attempted."""
        due = await self._store.reader().due_intents(self._clock.now(), limit)
        for intent in due:
            await self.attempt(intent.reference)
        return len(due)

    async def run_due_for(self, repair_id: str) -> None:
        """Attempt, inline, the due intents of one repair (the request path; the worker covers the rest)."""
        for intent in await self._store.reader().intents_for(repair_id):
            if intent.status == "pending" and intent.next_attempt_at <= self._clock.now():
                await self.attempt(intent.reference)

    async def attempt(self, reference: str) -> BookingIntent | None:
        """Claim and attempt one intent; returns its state afterwards (None when someone else holds it)."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            intent = await tx.claim_intent(reference, now, now + LEASE)
        if intent is None:
            return None
        adapter = self._carriers.get(intent.carrier)
        if adapter is None:
            return await self._fail(intent, f"carrier {intent.carrier!r} is not enabled")
        try:
            result = await self._call(adapter, intent)
        except CarrierTransientError as exc:
            return await self._retry_later(intent, exc)
        except CarrierAmbiguousError as exc:
            return await self._retry_later(intent, exc)
        except CarrierError as exc:
            return await self._fail(intent, f"{type(exc).__name__}: {exc.message}")
        return await self._succeed(intent, result)

    async def _call(self, adapter: CarrierAdapter, intent: BookingIntent) -> dict[str, Any]:
        op = intent.operation
        retried = intent.attempts > 1  # this is not the first claim: the carrier may already hold it
        if op == "create_shipment":
            request = ShipmentRequest.model_validate(intent.request)
            found = None
            if retried and Capability.FIND_SHIPMENT in adapter.capabilities:
                found = await adapter.find_shipment(request.reference)
            if found is None and retried and Capability.FIND_SHIPMENT not in adapter.capabilities:
                raise CarrierAmbiguousError("cannot look the shipment up; left for reconciliation")
            booking = found or await adapter.create_shipment(request)
            return {"shipment": booking.model_dump(mode="json")}
        if op == "schedule_pickup":
            pickup = PickupRequest.model_validate(intent.request)
            found_pickup = None
            if retried and Capability.FIND_PICKUP in adapter.capabilities:
                found_pickup = await adapter.find_pickup(pickup.reference, pickup.pickup_date)
            if found_pickup is None and retried and Capability.FIND_PICKUP not in adapter.capabilities:
                raise CarrierAmbiguousError("cannot look the pickup up; left for reconciliation")
            confirmation = found_pickup or await adapter.schedule_pickup(pickup)
            return {"pickup": confirmation.model_dump(mode="json")}
        if op == "cancel_pickup":
            await adapter.cancel_pickup(PickupBooking.model_validate(intent.request))
            return {}
        if op == "void_shipment":
            await adapter.void_shipment(ShipmentBooking.model_validate(intent.request))
            return {}
        raise CarrierAmbiguousError(f"unknown operation {op}")

    async def _retry_later(self, intent: BookingIntent, exc: CarrierError) -> BookingIntent | None:
        now = self._clock.now()
        delay = min(self._retry_max_s, 2.0 ** min(intent.attempts, 16))
        delay = self._rng.uniform(delay / 2, delay)
        logger.warning("booking %s (%s) will be retried in %.1fs: %s", intent.reference, intent.operation, delay, exc)
        async with self._store.transaction() as tx:
            await tx.update_intent(
                intent.reference,
                status="pending",
                attempts=intent.attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=f"{type(exc).__name__}: {exc.message}",
                result=None,
                now=now,
            )
            return await tx.intent(intent.reference)

    async def _fail(self, intent: BookingIntent, error: str) -> BookingIntent | None:
        now = self._clock.now()
        logger.error("booking %s (%s) failed for good: %s", intent.reference, intent.operation, error)
        async with self._store.transaction() as tx:
            await tx.update_intent(
                intent.reference,
                status="failed",
                attempts=intent.attempts,
                next_attempt_at=now,
                last_error=error,
                result=None,
                now=now,
            )
            repair = await tx.get_repair(intent.repair_id)
            if repair is not None and intent.operation in ("create_shipment", "schedule_pickup"):
                leg = repair.leg(intent.leg)
                if leg is not None:
                    leg.last_error = error
                repair.flags.append(Flag(code="booking.failed", reason=error, raised_at=now, leg=intent.leg))
                change = Change(
                    kind="flag_raised",
                    occurred_at=now,
                    actor=Actor.SERVICE,
                    source=intent.reference,
                    leg=intent.leg,
                    details={"code": "booking.failed", "operation": intent.operation, "error": error},
                )
                await tx.save_repair(repair)
                await record(tx, repair, [change], now)
            return await tx.intent(intent.reference)

    async def _succeed(self, intent: BookingIntent, result: dict[str, Any]) -> BookingIntent | None:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            await tx.update_intent(
                intent.reference,
                status="done",
                attempts=intent.attempts,
                next_attempt_at=now,
                last_error=None,
                result=result,
                now=now,
            )
            repair = await tx.get_repair(intent.repair_id)
            if repair is None or intent.operation in ("cancel_pickup", "void_shipment"):
                return await tx.intent(intent.reference)
            changes: list[Change] = []
            if "shipment" in result:
                shipment = ShipmentBooking.model_validate(result["shipment"])
                if shipment.label is not None:
                    await tx.save_carrier_label(repair.id, intent.leg, shipment.label.content_type, shipment.label.data)
                changes += repair.record_booking(
                    intent.leg,
                    now,
                    intent.reference,
                    tracking_number=shipment.tracking_numbers[0],
                    shipment_id=shipment.shipment_id,
                    routing_code=shipment.routing_code,
                    pickup_confirmation=None,
                    carrier_label=shipment.label is not None,
                )
                await self._after_shipment(tx, repair.id, intent, shipment, now)
            if "pickup" in result:
                pickup = PickupBooking.model_validate(result["pickup"])
                changes += repair.record_booking(
                    intent.leg,
                    now,
                    intent.reference,
                    tracking_number=None,
                    shipment_id=None,
                    routing_code=None,
                    pickup_confirmation=pickup.confirmation,
                    carrier_label=False,
                )
                if repair.state is JourneyState.CANCELLED:
                    await tx.add_intent(
                        new_intent(
                            f"{intent.reference}-x",
                            repair.id,
                            intent.leg,
                            "cancel_pickup",
                            intent.carrier,
                            pickup.model_dump(mode="json"),
                            now,
                        )
                    )
            await tx.save_repair(repair)
            await record(tx, repair, changes, now)
            return await tx.intent(intent.reference)

    async def _after_shipment(
        self, tx: Transaction, repair_id: str, intent: BookingIntent, shipment: ShipmentBooking, now: datetime
    ) -> None:
        """What follows a shipment: the pickup for a courier leg, or a void if the repair was cancelled meanwhile."""
        repair = await tx.get_repair(repair_id)
        assert repair is not None
        if repair.state is JourneyState.CANCELLED:
            await tx.add_intent(
                new_intent(
                    f"{intent.reference}-v",
                    repair_id,
                    intent.leg,
                    "void_shipment",
                    intent.carrier,
                    shipment.model_dump(mode="json"),
                    now,
                )
            )
            return
        leg = repair.leg(intent.leg)
        if leg is None or leg.pickup is None or intent.leg is not LegDirection.INBOUND:
            return
        pickup = carrier_requests.pickup_request(
            f"{leg.booking_reference}-p{leg.pickup_round}",
            repair.site,
            str(repair.device["product_line"]),
            leg.pickup.model_dump(mode="json"),
            shipment.tracking_numbers,
        )
        await tx.add_intent(
            new_intent(
                pickup.reference,
                repair_id,
                intent.leg,
                "schedule_pickup",
                intent.carrier,
                pickup.model_dump(mode="json"),
                now,
            )
        )
