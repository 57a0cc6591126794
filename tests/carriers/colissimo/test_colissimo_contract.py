"""Colissimo against the contract every carrier adapter passes, through the fake SLS and Suivi servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carriers.base import CarrierAdapter
from carriers.colissimo.mapping import is_valid_colissimo_number
from carriers.models import PickupRequest, ShipmentBooking, ShipmentRequest
from carriers.testing import CarrierContract
from tests.carriers.colissimo.builders import CUSTOMER, START, pickup_request, shipment_request
from tests.fakes.colissimo_server import FakeColissimoServer, domestic_number


class TestColissimoContract(CarrierContract):
    fake: FakeColissimoServer

    @pytest.fixture(autouse=True)
    def _bind_fake(self, fake_colissimo: FakeColissimoServer) -> None:
        self.fake = fake_colissimo

    def pickup_request(self, reference: str) -> PickupRequest:
        # A letterbox pickup collects the parcel of a return label announced before.
        return pickup_request(reference, self.fake.announce("CORE"))

    def shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest:
        return shipment_request(reference, is_return=is_return, shipper=CUSTOMER)

    def unknown_tracking_number(self) -> str:
        return domestic_number("8R", 9999999999)

    def is_valid_tracking_number(self, number: str) -> bool:
        return is_valid_colissimo_number(number)

    async def after_booking(self, adapter: CarrierAdapter, booking: ShipmentBooking) -> None:
        for hours, code in enumerate(("PC1", "ET1", "ET2", "MD2"), start=1):
            self.fake.scan(booking.shipment_id, code, START + timedelta(hours=hours))
