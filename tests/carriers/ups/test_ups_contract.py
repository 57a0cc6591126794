"""The carrier contract, run against the UPS adapter and the fake UPS server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from carriers.base import CarrierAdapter
from carriers.models import PickupRequest, ShipmentBooking, ShipmentRequest
from carriers.testing import EXAMPLE_START, CarrierContract
from tests.carriers.ups.builders import pickup_request, shipment_request
from tests.carriers.ups.conftest import SHIPPER_NUMBER, WEBHOOK_CREDENTIAL
from tests.fakes.ups_server import FakeUps, Scan, is_valid_1z, ups_check_digit
from tests.support.clock import ManualClock

START = ManualClock(EXAMPLE_START).now()


class TestUpsContract(CarrierContract):
    @pytest.fixture(autouse=True)
    def _bind_fake(self, fake: FakeUps, clock: ManualClock) -> None:
        self.fake = fake
        self.clock = clock

    def pickup_request(self, reference: str) -> PickupRequest:
        # Pending Status shows today and tomorrow only: book for tomorrow, as the service does.
        return pickup_request(reference, START.date() + timedelta(days=1))

    def shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest:
        return shipment_request(reference, START.date(), is_return=is_return)

    def unknown_tracking_number(self) -> str:
        body = f"{SHIPPER_NUMBER}119999999"
        return "1Z" + body + ups_check_digit(body)

    def is_valid_tracking_number(self, number: str) -> bool:
        return is_valid_1z(number)

    async def after_booking(self, adapter: CarrierAdapter, booking: ShipmentBooking) -> None:
        self.clock.advance(hours=3)
        self.fake.add_scan(booking.tracking_numbers[0], Scan(self.clock.now(), "I", "OR", "Origin Scan", "LILLE", "FR"))

    def signed_push(self, tracking_number: str) -> tuple[Mapping[str, str], bytes] | None:
        scan = Scan(START + timedelta(hours=5), "I", "AR", "Arrived at Facility", "PARIS", "FR")
        return self.fake.track_alert(tracking_number, scan, credential=WEBHOOK_CREDENTIAL)
