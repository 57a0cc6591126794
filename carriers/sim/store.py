"""The simulated carrier's bookings: in memory, optionally persisted to a JSON file.

With a ``state_path`` every change is written through (to a temporary file, then renamed over the old one,
so a crash leaves either the old or the new state), and a restarted service finds its bookings again by
reference. The file is small and local: writing it synchronously keeps the sim simple and its order of
effects obvious.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from carriers.models import AwareDatetime, PickupBooking, ShipmentBooking

logger = logging.getLogger(__name__)


class PickupRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking: PickupBooking
    booked_at: AwareDatetime
    tracking_numbers: tuple[str, ...] = ()
    cancelled_at: AwareDatetime | None = None


class ShipmentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking: ShipmentBooking
    booked_at: AwareDatetime
    is_return: bool
    origin: str
    destination: str
    voided_at: AwareDatetime | None = None


class SimState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: int = 0
    pickups: list[PickupRecord] = Field(default_factory=list)
    shipments: list[ShipmentRecord] = Field(default_factory=list)


class BookingStore:
    """Bookings by reference and tracking number, written through to ``path`` when given."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self.state = SimState()
        if path is not None and path.exists():
            self.state = SimState.model_validate_json(path.read_bytes())
            logger.info(
                "sim carrier state loaded",
                extra={"pickups": len(self.state.pickups), "shipments": len(self.state.shipments)},
            )

    def next_serial(self) -> int:
        self.state.serial += 1
        return self.state.serial

    def add_pickup(self, record: PickupRecord) -> None:
        self.state.pickups.append(record)
        self.save()

    def add_shipment(self, record: ShipmentRecord) -> None:
        self.state.shipments.append(record)
        self.save()

    def active_pickups(self, reference: str) -> list[PickupRecord]:
        return [r for r in self.state.pickups if r.booking.reference == reference and r.cancelled_at is None]

    def active_shipments(self, reference: str) -> list[ShipmentRecord]:
        return [r for r in self.state.shipments if r.booking.reference == reference and r.voided_at is None]

    def pickup(self, confirmation: str) -> PickupRecord | None:
        return next((r for r in self.state.pickups if r.booking.confirmation == confirmation), None)

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        return next((r for r in self.state.shipments if r.booking.shipment_id == shipment_id), None)

    def shipment_by_tracking(self, number: str) -> ShipmentRecord | None:
        return next((r for r in self.state.shipments if number in r.booking.tracking_numbers), None)

    def collected(self, number: str, at: datetime) -> bool:
        """Whether a courier pickup booked by ``at`` (and not cancelled) includes this parcel."""
        return any(
            number in r.tracking_numbers and r.booked_at <= at and r.cancelled_at is None for r in self.state.pickups
        )

    def save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(self._path.name + ".tmp")
        temporary.write_bytes(self.state.model_dump_json(indent=1).encode())
        os.replace(temporary, self._path)
