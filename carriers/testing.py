"""Test support for carrier adapters: the contract every adapter passes, a loop clock and example requests.

``CarrierContract`` is a pytest base class. An adapter's test module subclasses it once (the class name must
start with ``Test`` so pytest collects it) and provides the hooks listed in its docstring; every test here
then runs against that adapter, skipping what its capabilities do not declare and checking that undeclared
operations raise ``CarrierNotSupported``. This module imports pytest, so only tests import it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from carriers.base import CarrierAdapter, LabelRecovery
from carriers.errors import CarrierNotSupported, CarrierPushError
from carriers.models import (
    Address,
    Capability,
    Parcel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingStatus,
)

ReferenceFactory = Callable[[str], str]

EXAMPLE_START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday morning


def example_address(country: str = "FR", *, name: str = "Camille Martin") -> Address:
    """A plausible site address per country (FR, DE, GB, US), for requests in tests."""
    cities = {
        "FR": ("12 rue de la République", "Lyon", "69002", None, "+33 4 78 00 00 00"),
        "DE": ("Leopoldstraße 10", "München", "80802", "BY", "+49 89 000000"),
        "GB": ("10 Deansgate", "Manchester", "M3 2BW", None, "+44 161 000 0000"),
        "US": ("55 Glenlake Pkwy NE", "Atlanta", "30328", "GA", "+1 404 000 0000"),
    }
    street, city, postal_code, subdivision, phone = cities[country]
    return Address(
        name=name,
        street_lines=(street,),
        city=city,
        postal_code=postal_code,
        country=country,
        subdivision=subdivision,
        phone=phone,
        email="customer@example.com",
    )


def example_parcel() -> Parcel:
    return Parcel(weight_kg=Decimal("3.2"), length_cm=45, width_cm=35, height_cm=12, contains_lithium_battery=True)


def example_pickup_request(
    reference: str,
    *,
    country: str = "FR",
    pickup_date: date = date(2025, 3, 4),
    time_zone: str = "Europe/Paris",
    tracking_numbers: tuple[str, ...] = (),
) -> PickupRequest:
    """A pickup of one notebook on a weekday, 09:00-17:00 local time."""
    return PickupRequest(
        reference=reference,
        address=example_address(country),
        pickup_date=pickup_date,
        ready_time=time(9),
        close_time=time(17),
        time_zone=time_zone,
        parcels=(example_parcel(),),
        tracking_numbers=tracking_numbers,
    )


def example_shipment_request(
    reference: str,
    *,
    is_return: bool = False,
    country: str = "FR",
    ship_date: date = date(2025, 3, 4),
    parcels: int = 1,
) -> ShipmentRequest:
    """A notebook from the customer to a repair centre (``is_return``) or back from it."""
    customer = example_address(country)
    centre = example_address(country, name="Repair centre").model_copy(update={"company": "Repair centre"})
    return ShipmentRequest(
        reference=reference,
        shipper=customer if is_return else centre,
        recipient=centre if is_return else customer,
        parcels=tuple(example_parcel() for _ in range(parcels)),
        ship_date=ship_date,
        is_return=is_return,
    )


class LoopClock:
    """A ``Clock`` that follows the running event loop's time from ``start``.

    Under a virtual-time loop (looptime) it moves with ``asyncio.sleep`` and timeouts, so wall-clock
    instants (tracking timelines, push ages) and the resilience layer's monotonic time agree.
    """

    def __init__(self, start: datetime = EXAMPLE_START) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._origin: float | None = None

    def now(self) -> datetime:
        loop_time = asyncio.get_running_loop().time()
        if self._origin is None:
            self._origin = loop_time
        return self._start + timedelta(seconds=loop_time - self._origin)


class CarrierContract:
    """The behaviour every ``CarrierAdapter`` promises, as tests. Subclass it as ``Test<Carrier>Contract``.

    Hooks the subclass provides:

    * fixture ``adapter`` (may be async, may yield): a ``CarrierAdapter`` talking to the subclass's fake
      carrier (for an HTTP adapter, a fake server on 127.0.0.1:0). One fresh adapter per test is simplest.
    * ``pickup_request(self, reference: str) -> PickupRequest``: a valid pickup in the carrier's area
      (required only if the adapter declares ``SCHEDULE_PICKUP`` or omits it, to test refusal).
    * ``shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest``: a valid
      shipment (return label when ``is_return``).
    * ``unknown_tracking_number(self) -> str``: a well-formed number the fake carrier has never seen.

    Optional hooks (defaults in brackets):

    * ``is_valid_tracking_number(self, number: str) -> bool`` [non-empty, no blanks]: the carrier's format
      and check digit.
    * ``async after_booking(self, adapter, booking) -> None`` [nothing]: make the fake carrier show tracking
      events for a booked shipment (advance a clock, script the fake server); afterwards ``track`` must
      find the number with at least one event.
    * ``signed_push(self, tracking_number: str) -> tuple[Mapping[str, str], bytes] | None`` [None, the push
      round trip is skipped]: headers and body of a genuine push for that number.

    References come from the ``reference`` fixture: stable per test, unique across tests, at most 35
    characters. Every test checks the neutral models only; wire details belong to the adapter's own tests.
    """

    # -- hooks ---------------------------------------------------------------------------------------

    def pickup_request(self, reference: str) -> PickupRequest:
        raise NotImplementedError("the contract subclass must provide pickup_request()")

    def shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest:
        raise NotImplementedError("the contract subclass must provide shipment_request()")

    def unknown_tracking_number(self) -> str:
        raise NotImplementedError("the contract subclass must provide unknown_tracking_number()")

    def is_valid_tracking_number(self, number: str) -> bool:
        return bool(number) and not any(ch.isspace() for ch in number)

    async def after_booking(self, adapter: CarrierAdapter, booking: ShipmentBooking) -> None:
        return None

    def signed_push(self, tracking_number: str) -> tuple[Mapping[str, str], bytes] | None:
        return None

    @pytest.fixture
    def reference(self, request: pytest.FixtureRequest) -> ReferenceFactory:
        digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16].upper()

        def make(suffix: str = "") -> str:
            return f"CT{digest}{suffix}"[:35]

        return make

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _require(adapter: CarrierAdapter, *capabilities: Capability) -> None:
        missing = [c.value for c in capabilities if c not in adapter.capabilities]
        if missing:
            pytest.skip(f"{adapter.name} does not declare {', '.join(missing)}")

    def _check_event(self, adapter: CarrierAdapter, event: TrackingEvent, number: str) -> None:
        assert event.carrier == adapter.name
        assert event.tracking_number == number
        assert event.event_id
        assert event.occurred_at.tzinfo is not None
        assert event.occurred_at.utcoffset() is not None
        assert isinstance(event.status, TrackingStatus)
        assert event.raw_code

    # -- the adapter describes itself -----------------------------------------------------------------

    def test_describes_itself(self, adapter: CarrierAdapter) -> None:
        assert isinstance(adapter, CarrierAdapter)
        assert adapter.name
        assert isinstance(adapter.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in adapter.capabilities)
        assert adapter.max_track_batch >= 1

    # -- pickups -------------------------------------------------------------------------------------

    async def test_schedule_find_and_cancel_pickup(self, adapter: CarrierAdapter, reference: ReferenceFactory) -> None:
        self._require(adapter, Capability.SCHEDULE_PICKUP)
        request = self.pickup_request(reference("P"))
        booking = await adapter.schedule_pickup(request)
        assert booking.carrier == adapter.name
        assert booking.reference == request.reference
        assert booking.confirmation
        assert booking.pickup_date == request.pickup_date

        if Capability.FIND_PICKUP in adapter.capabilities:
            found = await adapter.find_pickup(request.reference, request.pickup_date)
            assert found is not None
            assert found.confirmation == booking.confirmation
            assert found.reference == request.reference

        if Capability.CANCEL_PICKUP in adapter.capabilities:
            await adapter.cancel_pickup(booking)
            await adapter.cancel_pickup(booking)  # already cancelled counts as success

    async def test_find_pickup_unknown_reference_is_none(
        self, adapter: CarrierAdapter, reference: ReferenceFactory
    ) -> None:
        self._require(adapter, Capability.FIND_PICKUP)
        request = self.pickup_request(reference("NONE"))
        assert await adapter.find_pickup(request.reference, request.pickup_date) is None

    # -- shipments -----------------------------------------------------------------------------------

    async def test_create_find_and_void_shipment(self, adapter: CarrierAdapter, reference: ReferenceFactory) -> None:
        self._require(adapter, Capability.CREATE_SHIPMENT)
        request = self.shipment_request(reference("S"))
        booking = await adapter.create_shipment(request)
        assert booking.carrier == adapter.name
        assert booking.reference == request.reference
        assert booking.shipment_id
        assert booking.tracking_numbers
        for number in booking.tracking_numbers:
            assert self.is_valid_tracking_number(number), number

        if Capability.FIND_SHIPMENT in adapter.capabilities:
            found = await adapter.find_shipment(request.reference)
            assert found is not None
            assert found.shipment_id == booking.shipment_id
            assert set(found.tracking_numbers) == set(booking.tracking_numbers)

        if Capability.VOID_SHIPMENT in adapter.capabilities:
            await adapter.void_shipment(booking)
            await adapter.void_shipment(booking)  # already voided counts as success

    async def test_return_shipment(self, adapter: CarrierAdapter, reference: ReferenceFactory) -> None:
        self._require(adapter, Capability.CREATE_SHIPMENT, Capability.RETURN_SHIPMENT)
        request = self.shipment_request(reference("R"), is_return=True)
        assert request.is_return
        booking = await adapter.create_shipment(request)
        assert booking.reference == request.reference
        assert booking.tracking_numbers
        for number in booking.tracking_numbers:
            assert self.is_valid_tracking_number(number), number

    async def test_find_shipment_unknown_reference_is_none(
        self, adapter: CarrierAdapter, reference: ReferenceFactory
    ) -> None:
        self._require(adapter, Capability.FIND_SHIPMENT)
        assert await adapter.find_shipment(reference("NONE")) is None

    # -- tracking ------------------------------------------------------------------------------------

    async def test_track_booked_shipment(self, adapter: CarrierAdapter, reference: ReferenceFactory) -> None:
        self._require(adapter, Capability.CREATE_SHIPMENT, Capability.TRACK)
        booking = await adapter.create_shipment(self.shipment_request(reference("T")))
        await self.after_booking(adapter, booking)
        numbers = list(booking.tracking_numbers[: adapter.max_track_batch])
        results = await adapter.track(numbers)
        assert [r.tracking_number for r in results] == numbers
        for result in results:
            assert result.found, result.tracking_number
            assert result.events
            for event in result.events:
                self._check_event(adapter, event, result.tracking_number)
            ids = [e.event_id for e in result.events]
            assert len(ids) == len(set(ids)), "event ids must be unique"

    async def test_track_unknown_number_is_not_found(self, adapter: CarrierAdapter) -> None:
        self._require(adapter, Capability.TRACK)
        number = self.unknown_tracking_number()
        results = await adapter.track([number])
        assert len(results) == 1
        assert results[0].tracking_number == number
        assert results[0].found is False
        assert results[0].events == ()

    # -- pushes --------------------------------------------------------------------------------------

    def test_push_with_bad_signature_is_refused(self, adapter: CarrierAdapter) -> None:
        self._require(adapter, Capability.PUSH_EVENTS)
        with pytest.raises(CarrierPushError):
            adapter.parse_push({"content-type": "application/json"}, b'{"events": []}')

    async def test_signed_push_round_trip(self, adapter: CarrierAdapter, reference: ReferenceFactory) -> None:
        self._require(adapter, Capability.PUSH_EVENTS)
        push = self.signed_push(self.unknown_tracking_number())
        if push is None:
            pytest.skip("the subclass provides no signed_push()")
        headers, body = push
        events = adapter.parse_push(headers, body)
        assert events
        for event in events:
            assert event.carrier == adapter.name
            assert event.event_id
            assert event.occurred_at.utcoffset() is not None
        assert [e.event_id for e in adapter.parse_push(headers, body)] == [e.event_id for e in events]

    # -- capabilities are honoured -------------------------------------------------------------------

    async def test_undeclared_capabilities_are_not_supported(
        self, adapter: CarrierAdapter, reference: ReferenceFactory
    ) -> None:
        undeclared = [c for c in Capability if c not in adapter.capabilities]
        if not undeclared:
            pytest.skip(f"{adapter.name} declares every capability")
        for capability in undeclared:
            with pytest.raises(CarrierNotSupported):
                await self._use(adapter, capability, reference("X"))

    async def _use(self, adapter: CarrierAdapter, capability: Capability, ref: str) -> object:
        """Exercise one capability with plausible arguments; the adapter must refuse before any I/O."""
        day = date(2030, 1, 7)
        pickup = PickupBooking(
            carrier=adapter.name,
            reference=ref,
            confirmation="UNKNOWN",
            pickup_date=day,
            ready_time=time(9),
            close_time=time(17),
        )
        shipment = ShipmentBooking(carrier=adapter.name, reference=ref, shipment_id="UNKNOWN", tracking_numbers=("0",))
        match capability:
            case Capability.SCHEDULE_PICKUP:
                return await adapter.schedule_pickup(self.pickup_request(ref))
            case Capability.CANCEL_PICKUP:
                await adapter.cancel_pickup(pickup)
            case Capability.FIND_PICKUP:
                return await adapter.find_pickup(ref, day)
            case Capability.CREATE_SHIPMENT:
                return await adapter.create_shipment(self.shipment_request(ref))
            case Capability.RETURN_SHIPMENT:
                return await adapter.create_shipment(self.shipment_request(ref, is_return=True))
            case Capability.VOID_SHIPMENT:
                await adapter.void_shipment(shipment)
            case Capability.FIND_SHIPMENT:
                return await adapter.find_shipment(ref)
            case Capability.TRACK:
                return await adapter.track([self.unknown_tracking_number()])
            case Capability.PUSH_EVENTS:
                return adapter.parse_push({}, b"{}")
            case Capability.RECOVER_LABEL:
                if not isinstance(adapter, LabelRecovery):  # an optional method: without it, nothing to call
                    raise CarrierNotSupported("no label recovery", carrier=adapter.name, operation="recover_label")
                return await adapter.recover_label(shipment)
        return None
