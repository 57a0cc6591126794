"""Requests and settings shared by the DHL Express adapter tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from pydantic import SecretStr

from carriers.dhl_express.settings import DhlExpressSettings
from carriers.models import Address, Parcel, PickupRequest, ShipmentRequest
from tests.fakes.dhl_server import FakeDhlServer

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday morning
TOMORROW = date(2025, 3, 4)


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def settings_for(server: FakeDhlServer, **overrides: object) -> DhlExpressSettings:
    values: dict[str, object] = {
        "base_url": server.base_url,
        "api_key": SecretStr("fake-key"),
        "api_secret": SecretStr("fake-secret"),
        "account_number": server.account_number,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return DhlExpressSettings.model_validate(values)


CUSTOMER = Address(
    name="Camille Martin",
    street_lines=("12 rue des Lilas", "Bâtiment B"),
    city="Lyon",
    postal_code="69003",
    country="FR",
    phone="+33 4 72 00 00 00",
    email="camille.martin@example.fr",
)
REPAIR_CENTRE = Address(
    name="Reception desk",
    company="Centre de réparation Nord",
    street_lines=("ZI des Mercuriales", "3 allée des Ateliers"),
    city="Bagnolet",
    postal_code="93170",
    country="FR",
    phone="+33 1 48 00 00 00",
)
NOTEBOOK = Parcel(weight_kg=Decimal("2.35"), length_cm=45, width_cm=35, height_cm=12, contains_lithium_battery=True)


def pickup_request(reference: str, *, pickup_date: date = TOMORROW, parcels: int = 1) -> PickupRequest:
    return PickupRequest(
        reference=reference,
        address=CUSTOMER,
        pickup_date=pickup_date,
        ready_time=time(9, 0),
        close_time=time(17, 30),
        time_zone="Europe/Paris",
        parcels=(NOTEBOOK,) * parcels,
        instructions="Digicode 1234, 2nd floor",
    )


def shipment_request(
    reference: str, *, is_return: bool = False, ship_date: date = TOMORROW, parcels: int = 1
) -> ShipmentRequest:
    return ShipmentRequest(
        reference=reference,
        shipper=CUSTOMER if is_return else REPAIR_CENTRE,
        recipient=REPAIR_CENTRE if is_return else CUSTOMER,
        parcels=(NOTEBOOK,) * parcels,
        ship_date=ship_date,
        is_return=is_return,
    )


def settings_for_account(**overrides: object) -> DhlExpressSettings:
    """Settings for pure mapping tests, where no server is involved."""
    values: dict[str, object] = {
        "api_key": SecretStr("fake-key"),
        "api_secret": SecretStr("fake-secret"),
        "account_number": "123456789",
    }
    values.update(overrides)
    return DhlExpressSettings.model_validate(values)
