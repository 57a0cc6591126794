"""The simulated carrier: an in-process ``CarrierAdapter`` with every capability and no network.

It is the service's embedded default (demos, development, end-to-end tests): bookings live in a
``BookingStore``, tracking follows the scripted timeline on the injected clock, pushes are HMAC-signed, and
a ``FaultPlan`` from the settings makes it misbehave on purpose (latency, 429, 5xx, stalls, resets,
rejections, and timeouts *after* the booking was applied) so the resilience layer can be tested against
it. Like every adapter it makes exactly one attempt per call. Inspection helpers (``pickups_for``,
``shipments_for``) exist for tests and are not part of the adapter protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TypeVar

from carriers.base import Clock, Sleep
from carriers.errors import CarrierNotFound, CarrierNotSupported
from carriers.models import (
    Capability,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)
from carriers.sim import push
from carriers.sim.faults import FaultPlan, error_for
from carriers.sim.settings import SimSettings
from carriers.sim.store import BookingStore, PickupRecord, ShipmentRecord
from carriers.sim.timeline import CARRIER, Journey, events_until
from carriers.sim.tracking_numbers import make_tracking_number

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The simulator issues no label images, so it has none to recover.
ALL_CAPABILITIES = frozenset(Capability) - {Capability.RECOVER_LABEL}


class SimCarrier:
    """See the module docstring. ``capabilities`` may be narrowed (to test capability checks)."""

    name = CARRIER

    def __init__(
        self,
        settings: SimSettings,
        *,
        clock: Clock,
        sleep: Sleep,
        capabilities: frozenset[Capability] = ALL_CAPABILITIES,
    ) -> None:
        self.settings = settings
        self.capabilities = capabilities
        self.max_track_batch = settings.max_track_batch
        self.faults = FaultPlan(settings.faults)
        self.store = BookingStore(settings.state_path)
        self._clock = clock
        self._sleep = sleep

    # -- pickups ---------------------------------------------------------------------------------------

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        self._require("schedule_pickup", Capability.SCHEDULE_PICKUP)

        def apply() -> PickupBooking:
            booking = PickupBooking(
                carrier=CARRIER,
                reference=request.reference,
                confirmation=f"SIMPU{self.store.next_serial():07d}",
                pickup_date=request.pickup_date,
                ready_time=request.ready_time,
                close_time=request.close_time,
                location_code=request.address.postal_code,
            )
            record = PickupRecord(
                booking=booking, booked_at=self._clock.now(), tracking_numbers=request.tracking_numbers
            )
            self.store.add_pickup(record)
            return booking

        return await self._run("schedule_pickup", apply)

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        self._require("cancel_pickup", Capability.CANCEL_PICKUP)

        def apply() -> None:
            record = self.store.pickup(booking.confirmation)
            if record is None:
                raise CarrierNotFound(
                    f"no pickup {booking.confirmation}",
                    code="SIM-404",
                    carrier=CARRIER,
                    operation="cancel_pickup",
                )
            if record.cancelled_at is None:  # cancelling twice is a success, as the contract says
                record.cancelled_at = self._clock.now()
                self.store.save_pickup(record)

        await self._run("cancel_pickup", apply)

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        self._require("find_pickup", Capability.FIND_PICKUP)

        def apply() -> PickupBooking | None:
            matches = [r for r in self.store.active_pickups(reference) if r.booking.pickup_date == pickup_date]
            return matches[0].booking if matches else None

        return await self._run("find_pickup", apply)

    # -- shipments -------------------------------------------------------------------------------------

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        self._require("create_shipment", Capability.CREATE_SHIPMENT)
        if request.is_return:
            self._require("create_shipment", Capability.RETURN_SHIPMENT)

        def apply() -> ShipmentBooking:
            serial = self.store.next_serial()
            numbers = tuple(
                make_tracking_number(self.settings.shipper_number, self.settings.service_code, serial * 10 + i)
                for i in range(len(request.parcels))
            )
            booking = ShipmentBooking(
                carrier=CARRIER,
                reference=request.reference,
                shipment_id=f"SIMSH{serial:07d}",
                tracking_numbers=numbers,
                routing_code=f"{request.recipient.country} {request.recipient.postal_code[:3]}",
                service=request.service or self.settings.service_code,
            )
            self.store.add_shipment(
                ShipmentRecord(
                    booking=booking,
                    booked_at=self._clock.now(),
                    is_return=request.is_return,
                    origin=f"{request.shipper.city} {request.shipper.country}",
                    destination=f"{request.recipient.city} {request.recipient.country}",
                )
            )
            return booking

        return await self._run("create_shipment", apply)

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        self._require("void_shipment", Capability.VOID_SHIPMENT)

        def apply() -> None:
            record = self.store.shipment(booking.shipment_id)
            if record is None:
                raise CarrierNotFound(
                    f"no shipment {booking.shipment_id}",
                    code="SIM-404",
                    carrier=CARRIER,
                    operation="void_shipment",
                )
            if record.voided_at is None:  # voiding twice is a success
                record.voided_at = self._clock.now()
                self.store.save_shipment(record)

        await self._run("void_shipment", apply)

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        self._require("find_shipment", Capability.FIND_SHIPMENT)

        def apply() -> ShipmentBooking | None:
            matches = self.store.active_shipments(reference)
            return matches[0].booking if matches else None

        return await self._run("find_shipment", apply)

    # -- tracking --------------------------------------------------------------------------------------

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        self._require("track", Capability.TRACK)
        if len(tracking_numbers) > self.max_track_batch:
            raise ValueError(f"at most {self.max_track_batch} tracking numbers per call")
        numbers = list(tracking_numbers)

        def apply() -> list[TrackingResult]:
            return [self._track_one(number) for number in numbers]

        return await self._run("track", apply)

    def _track_one(self, number: str) -> TrackingResult:
        record = self.store.shipment_by_tracking(number)
        if record is None:
            return TrackingResult(tracking_number=number, found=False)
        now = self._clock.now()
        journey = Journey(
            tracking_number=number,
            booked_at=record.booked_at,
            collected=not record.is_return or self.store.collected(number, now),
            origin=record.origin,
            destination=record.destination,
            voided_at=record.voided_at,
        )
        events = events_until(journey, now, self.settings.timeline)
        return TrackingResult(tracking_number=number, found=True, events=tuple(events))

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        self._require("push", Capability.PUSH_EVENTS)
        return push.parse_push(
            headers,
            body,
            secret=self.settings.push_secret.get_secret_value(),
            now=self._clock.now(),
            max_age_s=self.settings.push_max_age_s,
        )

    async def check_access(self) -> str:
        return "simulated carrier: no credentials to check"

    async def aclose(self) -> None:
        self.store.close()

    # -- inspection (tests, demos) ---------------------------------------------------------------------

    def pickups_for(self, reference: str) -> list[PickupBooking]:
        """Active pickups booked under ``reference``: more than one would be a duplicate booking."""
        return [r.booking for r in self.store.active_pickups(reference)]

    def shipments_for(self, reference: str) -> list[ShipmentBooking]:
        """Active shipments booked under ``reference``: more than one would be a duplicate booking."""
        return [r.booking for r in self.store.active_shipments(reference)]

    # -- machinery -------------------------------------------------------------------------------------

    def _require(self, operation: str, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CarrierNotSupported(
                f"the sim carrier is configured without {capability}", carrier=CARRIER, operation=operation
            )

    async def _run(self, operation: str, apply: Callable[[], T]) -> T:
        """Apply the operation, misbehaving first (or after applying) as the fault plan says."""
        step = self.faults.take(operation)
        if step is None:
            return apply()
        logger.info("sim fault: %s on %s", step.kind, operation, extra={"carrier": CARRIER})
        if step.kind == "latency":
            await self._sleep(step.delay_s)
            return apply()
        if step.after_apply:
            result = apply()
            if step.kind == "stall":
                await self._sleep(step.delay_s)
                return result
        elif step.kind == "stall":
            await self._sleep(step.delay_s)
            return apply()
        raise error_for(step, carrier=CARRIER, operation=operation, now=self._clock.now())
