"""Neutral requests for the UPS tests: a customer site in France and a repair centre."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from carriers.models import Address, Parcel, PickupRequest, ShipmentRequest

CUSTOMER = Address(
    name="Camille Martin",
    street_lines=("12 rue des Lilas",),
    city="Lyon",
    postal_code="69003",
    country="FR",
    phone="+33 4 72 00 00 00",
    email="camille.martin@example.com",
)

REPAIR_CENTRE = Address(
    name="Receiving desk",
    company="Repair Centre Lille",
    street_lines=("3 avenue de la Réparation", "Bâtiment B"),
    city="Lille",
    postal_code="59000",
    country="FR",
    phone="+33 3 20 00 00 00",
)

NOTEBOOK = Parcel(weight_kg=Decimal("2.35"), length_cm=45, width_cm=35, height_cm=12, contains_lithium_battery=True)


def pickup_request(reference: str, pickup_date: date, *, address: Address = CUSTOMER) -> PickupRequest:
    return PickupRequest(
        reference=reference,
        address=address,
        pickup_date=pickup_date,
        ready_time=time(9, 0),
        close_time=time(17, 0),
        time_zone="Europe/Paris",
        parcels=(NOTEBOOK,),
        instructions="Ring at the gate",
    )


def shipment_request(reference: str, ship_date: date, *, is_return: bool = False) -> ShipmentRequest:
    if is_return:  # the customer ships the device to the repair centre with a label we provide
        return ShipmentRequest(
            reference=reference,
            shipper=CUSTOMER,
            recipient=REPAIR_CENTRE,
            parcels=(NOTEBOOK,),
            ship_date=ship_date,
            is_return=True,
            label_format="GIF",
        )
    return ShipmentRequest(
        reference=reference,
        shipper=REPAIR_CENTRE,
        recipient=CUSTOMER,
        parcels=(NOTEBOOK,),
        ship_date=ship_date,
    )


def next_day(today: date) -> date:
    return today + timedelta(days=1)
