"""The simulated carrier's bookings: in memory and indexed, optionally kept in a journal file.

With a ``state_path`` every change appends one JSON line (the whole record as it now is) to the journal,
and a restarted service replays it to find its bookings again by reference; the last line of a record
wins, and a torn last line from a crash is ignored. Appending costs the same whatever the number of
bookings, so the simulated carrier stays fast however long a development instance runs. Lines are flushed
but not fsynced: this is a simulation of a carrier, not a ledger. The file stays open while the adapter is
in use (``close`` ends it).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import TextIO

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
    """All bookings, in booking order (read by tests and demos)."""

    model_config = ConfigDict(extra="forbid")

    serial: int = 0
    pickups: list[PickupRecord] = Field(default_factory=list)
    shipments: list[ShipmentRecord] = Field(default_factory=list)


class BookingStore:
    """Bookings by reference, confirmation, shipment id and tracking number; journalled to ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._journal: TextIO | None = None  # opened at the first booking, kept open
        self.state = SimState()
        self._pickups: dict[str, PickupRecord] = {}
        self._pickups_by_reference: dict[str, list[PickupRecord]] = {}
        self._pickups_by_number: dict[str, list[PickupRecord]] = {}
        self._shipments: dict[str, ShipmentRecord] = {}
        self._shipments_by_reference: dict[str, list[ShipmentRecord]] = {}
        self._shipments_by_number: dict[str, ShipmentRecord] = {}
        if path is not None and path.exists():
            self._replay(path)
            logger.info(
                "sim carrier state loaded",
                extra={"pickups": len(self.state.pickups), "shipments": len(self.state.shipments)},
            )

    def next_serial(self) -> int:
        self.state.serial += 1
        return self.state.serial

    def add_pickup(self, record: PickupRecord) -> None:
        self._index_pickup(record)
        self._append("pickup", record)

    def save_pickup(self, record: PickupRecord) -> None:
        self._append("pickup", record)

    def add_shipment(self, record: ShipmentRecord) -> None:
        self._index_shipment(record)
        self._append("shipment", record)

    def save_shipment(self, record: ShipmentRecord) -> None:
        self._append("shipment", record)

    def active_pickups(self, reference: str) -> list[PickupRecord]:
        return [r for r in self._pickups_by_reference.get(reference, ()) if r.cancelled_at is None]

    def active_shipments(self, reference: str) -> list[ShipmentRecord]:
        return [r for r in self._shipments_by_reference.get(reference, ()) if r.voided_at is None]

    def pickup(self, confirmation: str) -> PickupRecord | None:
        return self._pickups.get(confirmation)

    def shipment(self, shipment_id: str) -> ShipmentRecord | None:
        return self._shipments.get(shipment_id)

    def shipment_by_tracking(self, number: str) -> ShipmentRecord | None:
        return self._shipments_by_number.get(number)

    def collected(self, number: str, at: datetime) -> bool:
        """Whether a courier pickup booked by ``at`` (and not cancelled) includes this parcel."""
        return any(r.booked_at <= at and r.cancelled_at is None for r in self._pickups_by_number.get(number, ()))

    def _index_pickup(self, record: PickupRecord) -> None:
        self.state.pickups.append(record)
        self._pickups[record.booking.confirmation] = record
        self._pickups_by_reference.setdefault(record.booking.reference, []).append(record)
        for number in record.tracking_numbers:
            self._pickups_by_number.setdefault(number, []).append(record)

    def _index_shipment(self, record: ShipmentRecord) -> None:
        self.state.shipments.append(record)
        self._shipments[record.booking.shipment_id] = record
        self._shipments_by_reference.setdefault(record.booking.reference, []).append(record)
        for number in record.booking.tracking_numbers:
            self._shipments_by_number.setdefault(number, record)

    def _append(self, kind: str, record: PickupRecord | ShipmentRecord) -> None:
        if self._path is None:
            return
        # The record serialised by pydantic directly: the envelope is two plain values.
        line = f'{{"kind": {json.dumps(kind)}, "serial": {self.state.serial}, "record": {record.model_dump_json()}}}'
        if self._journal is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = self._path.open("a", encoding="utf-8")
            if self._journal.tell() > 0 and not _ends_a_line(self._path):
                self._journal.write("\n")  # end a line torn by a crash, so the next record starts clean
        self._journal.write(line + "\n")
        self._journal.flush()  # in the OS's hands at once: a killed process loses nothing it acknowledged

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _replay(self, path: Path) -> None:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("sim carrier journal: line %d is torn; ignored", number)
                continue
            self.state.serial = max(self.state.serial, int(entry["serial"]))
            if entry["kind"] == "pickup":
                pickup = PickupRecord.model_validate(entry["record"])
                known = self._pickups.get(pickup.booking.confirmation)
                if known is None:
                    self._index_pickup(pickup)
                else:
                    known.cancelled_at = pickup.cancelled_at
            else:
                shipment = ShipmentRecord.model_validate(entry["record"])
                existing = self._shipments.get(shipment.booking.shipment_id)
                if existing is None:
                    self._index_shipment(shipment)
                else:
                    existing.voided_at = shipment.voided_at


def _ends_a_line(path: Path) -> bool:
    """Whether a non-empty file's last byte is a newline (read alone, however long the journal)."""
    with path.open("rb") as journal:
        journal.seek(-1, 2)
        return journal.read(1) == b"\n"
