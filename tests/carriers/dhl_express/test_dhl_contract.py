"""DHL Express against the contract every carrier adapter passes, through the fake MyDHL server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carriers.base import CarrierAdapter
from carriers.dhl_express.mapping import is_valid_waybill
from carriers.models import PickupRequest, ShipmentBooking, ShipmentRequest
from carriers.testing import CarrierContract
from tests.carriers.dhl_express.builders import START, pickup_request, shipment_request
from tests.fakes.dhl_server import FakeDhlServer, waybill


class TestDhlExpressContract(CarrierContract):
    fake: FakeDhlServer

    @pytest.fixture(autouse=True)
    def _bind_fake(self, fake_dhl: FakeDhlServer) -> None:
        self.fake = fake_dhl

    def pickup_request(self, reference: str) -> PickupRequest:
        return pickup_request(reference)

    def shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest:
        return shipment_request(reference, is_return=is_return)

    def unknown_tracking_number(self) -> str:
        return waybill(987654320)

    def is_valid_tracking_number(self, number: str) -> bool:
        return is_valid_waybill(number)

    async def after_booking(self, adapter: CarrierAdapter, booking: ShipmentBooking) -> None:
        for hours, code in enumerate(("PU", "AF", "PL", "DF"), start=1):
            self.fake.scan(booking.shipment_id, code, START + timedelta(hours=hours))
