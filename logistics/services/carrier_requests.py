"""The anti-corruption layer towards carriers: a repair's data becomes neutral carrier requests.

Parcel dimensions and weights are the packed defaults per product line; a repair centre may send better
figures later. Pure functions: no I/O.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from carriers import Address, Parcel, PickupRequest, ShipmentRequest

# Packed weight (kg) and box (cm) per product line: the maker's standard repair boxes.
PACKED: dict[str, tuple[Decimal, int, int, int]] = {
    "notebook": (Decimal("3.5"), 50, 40, 15),
    "desktop": (Decimal("12"), 60, 50, 35),
    "all_in_one": (Decimal("14"), 75, 60, 25),
    "workstation": (Decimal("22"), 70, 60, 40),
}


def parcel_for(product_line: str) -> Parcel:
    weight, length, width, height = PACKED.get(product_line, PACKED["desktop"])
    return Parcel(
        weight_kg=weight,
        length_cm=length,
        width_cm=width,
        height_cm=height,
        contains_lithium_battery=product_line == "notebook",
    )


def address(data: dict[str, Any]) -> Address:
    return Address(
        name=data["name"],
        company=data.get("company"),
        street_lines=tuple(data["street_lines"]),
        city=data["city"],
        postal_code=data["postal_code"],
        country=data["country"],
        subdivision=data.get("subdivision"),
        phone=data["phone"],
        email=data.get("email"),
    )


def shipment_request(
    reference: str,
    shipper: dict[str, Any],
    recipient: dict[str, Any],
    product_line: str,
    ship_date: date,
    *,
    is_return: bool,
) -> ShipmentRequest:
    return ShipmentRequest(
        reference=reference,
        shipper=address(shipper),
        recipient=address(recipient),
        parcels=(parcel_for(product_line),),
        ship_date=ship_date,
        is_return=is_return,
    )


def pickup_request(
    reference: str,
    site: dict[str, Any],
    product_line: str,
    slot: dict[str, Any],
    tracking_numbers: tuple[str, ...],
) -> PickupRequest:
    return PickupRequest(
        reference=reference,
        address=address(site),
        pickup_date=date.fromisoformat(slot["local_date"]),
        ready_time=slot["ready_time"],
        close_time=slot["close_time"],
        time_zone=slot["time_zone"],
        parcels=(parcel_for(product_line),),
        tracking_numbers=tracking_numbers,
    )
