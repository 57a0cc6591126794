"""Requests and settings shared by the Colissimo adapter tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from pydantic import SecretStr

from carriers.colissimo.settings import ColissimoSettings
from carriers.models import Address, Parcel, PickupRequest, ShipmentRequest
from tests.fakes.colissimo_server import FakeColissimoServer

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday morning
TOMORROW = date(2025, 3, 4)


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def settings_for(server: FakeColissimoServer, **overrides: object) -> ColissimoSettings:
    values: dict[str, object] = {
        "base_url": server.sls_url,
        "tracking_base_url": server.suivi_url,
        "api_key": SecretStr(server.api_key),
        "okapi_key": SecretStr(server.okapi_key),
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return ColissimoSettings.model_validate(values)


def offline_settings(**overrides: object) -> ColissimoSettings:
    """Settings for pure mapping tests, where no server is involved."""
    values: dict[str, object] = {"api_key": SecretStr("k"), "okapi_key": SecretStr("o")}
    values.update(overrides)
    return ColissimoSettings.model_validate(values)


CUSTOMER = Address(
    name="Camille Martin",
    street_lines=("12 rue des Lilas", "Bâtiment B"),
    city="Lyon",
    postal_code="69003",
    country="FR",
    phone="+33 4 72 00 00 00",
    email="camille.martin@example.fr",
)
OVERSEAS_CUSTOMER = Address(
    name="Léa Hoarau",
    street_lines=("8 rue de Paris",),
    city="Saint-Denis",
    postal_code="97400",
    country="FR",
    phone="+262 262 00 00 00",
)
BELGIAN_CUSTOMER = Address(
    name="Lucas Peeters",
    street_lines=("Rue Neuve 10",),
    city="Bruxelles",
    postal_code="1000",
    country="BE",
    phone="+32 2 000 00 00",
)
REPAIR_CENTRE = Address(
    name="Reception desk",
    company="Centre de réparation Lyon",
    street_lines=("12 rue de l'Industrie",),
    city="Lyon",
    postal_code="69007",
    country="FR",
    phone="+33 4 00 00 00 00",
)
NOTEBOOK = Parcel(weight_kg=Decimal("3.5"), length_cm=50, width_cm=40, height_cm=15, contains_lithium_battery=True)


def shipment_request(
    reference: str,
    *,
    is_return: bool = False,
    shipper: Address = CUSTOMER,
    ship_date: date = TOMORROW,
    parcel: Parcel = NOTEBOOK,
) -> ShipmentRequest:
    return ShipmentRequest(
        reference=reference,
        shipper=shipper if is_return else REPAIR_CENTRE,
        recipient=REPAIR_CENTRE if is_return else shipper,
        parcels=(parcel,),
        ship_date=ship_date,
        is_return=is_return,
    )


def pickup_request(reference: str, parcel_number: str, *, pickup_date: date = TOMORROW) -> PickupRequest:
    return PickupRequest(
        reference=reference,
        address=CUSTOMER,
        pickup_date=pickup_date,
        ready_time=time(8, 0),
        close_time=time(12, 0),
        time_zone="Europe/Paris",
        parcels=(NOTEBOOK,),
        tracking_numbers=(parcel_number,),
    )
