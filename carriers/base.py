"""The adapter contract: what every carrier plug-in implements, and how it is described to the registry.

An adapter makes exactly one attempt per call and maps the carrier's answer onto the neutral models and the
error tree in ``carriers.errors``. Retries, deadlines, the circuit breaker, the concurrency limit and
reconciliation after an ambiguous outcome are added around it by ``carriers.resilience``, the same for
every carrier. Adapters never import each other and never import the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import aiohttp
from pydantic import BaseModel

from carriers.models import (
    Capability,
    CarrierLabel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)


class Clock(Protocol):
    """Returns the current instant, timezone-aware, in UTC."""

    def now(self) -> datetime: ...


Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class CarrierAdapter(Protocol):
    """One carrier, one attempt per call. Unsupported operations raise ``CarrierNotSupported``."""

    name: str
    capabilities: frozenset[Capability]
    max_track_batch: int

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking: ...

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        """Cancel; a pickup already cancelled counts as success."""

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None: ...

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking: ...

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        """Void; a shipment already voided counts as success."""

    async def find_shipment(self, reference: str) -> ShipmentBooking | None: ...

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        """At most ``max_track_batch`` numbers per call."""

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        """Verify an incoming tracking push and return its events.

        Raises ``CarrierPushAuthError`` for a bad credential or signature and ``CarrierPushMalformed`` for a
        body the carrier would not send.
        """

    async def aclose(self) -> None: ...


def lookup_lag_s(adapter: object) -> float:
    """How long a booking may take to appear in the carrier's look-up by reference (an optional attribute
    ``lookup_lag_s`` of an adapter; 0 when the look-up is immediate, as UPS's is). A create whose outcome is
    unknown is not looked up, let alone made again, before that time has passed."""
    value = getattr(adapter, "lookup_lag_s", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


@runtime_checkable
class LabelRecovery(Protocol):
    """Adapters declaring ``Capability.RECOVER_LABEL``: the label of a booking found by reference (after an
    ambiguous create, the look-up answers without the image) fetched again from the carrier."""

    async def recover_label(self, booking: ShipmentBooking) -> CarrierLabel | None:
        """The carrier's label for ``booking``'s first parcel; None when the carrier keeps no image we can
        show. A read: retried like one, changes nothing."""


@runtime_checkable
class AccessCheck(Protocol):
    """Optional for an adapter: one harmless call proving the carrier accepts our settings (a token, a search)."""

    async def check_access(self) -> str:
        """What the call proved, in a few words; raises a ``CarrierError`` (``CarrierAuthError`` for refused
        credentials) otherwise. Books, cancels and changes nothing."""


@dataclass(frozen=True)
class CarrierContext:
    """What the service hands an adapter when it builds one. Nothing here is global."""

    session: aiohttp.ClientSession
    clock: Clock
    sleep: Sleep


AdapterFactory = Callable[[BaseModel, CarrierContext], CarrierAdapter]


@dataclass(frozen=True)
class CarrierPlugin:
    """The object an entry point in the ``logistics.carriers`` group points at."""

    name: str
    title: str
    settings_model: type[BaseModel]
    factory: AdapterFactory
    capabilities: frozenset[Capability]
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
