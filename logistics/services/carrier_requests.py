"""The anti-corruption layer towards carriers: a repair's data becomes neutral carrier requests.

Parcels follow what travels: the device in its packed box (defaults per product line), the items boxed
with it adding their packed weights, and the items that travel in a box of their own (external monitors by
default) one parcel each. The weights are configuration (``PackingRules``); the parcels are worked out once,
when the repair is created, and kept with it, so the carrier, the labels and the way back all declare the
same pieces. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


# Packed weight (kg) of each kind of item sent with the device.
ITEM_WEIGHTS_KG: dict[str, Decimal] = {
    "ac_adapter": Decimal("0.5"),
    "wired_mouse": Decimal("0.2"),
    "wired_keyboard": Decimal("0.9"),
    "external_monitor": Decimal("7.5"),
    "dock": Decimal("0.9"),
    "wireless_mouse": Decimal("0.2"),
    "wireless_keyboard": Decimal("0.7"),
    "headset": Decimal("0.4"),
    "other_peripheral": Decimal("1.0"),
    "battery": Decimal("0.5"),
}
UNLISTED_ITEM_KG = Decimal("1.0")
# Items that travel in a box of their own, and that box (cm).
OWN_BOX_CM: dict[str, tuple[int, int, int]] = {"external_monitor": (80, 55, 20)}


@dataclass(frozen=True)
class PackingRules:
    """Weights per item kind and the kinds that travel in a box of their own (from the settings)."""

    item_weights_kg: Mapping[str, Decimal] = field(default_factory=lambda: dict(ITEM_WEIGHTS_KG))
    own_box_cm: Mapping[str, tuple[int, int, int]] = field(default_factory=lambda: dict(OWN_BOX_CM))


def parcel_for(product_line: str) -> Parcel:
    weight, length, width, height = PACKED.get(product_line, PACKED["desktop"])
    return Parcel(
        weight_kg=weight,
        length_cm=length,
        width_cm=width,
        height_cm=height,
        contains_lithium_battery=product_line == "notebook",
    )


def parcels_for(
    product_line: str, items: Iterable[Mapping[str, Any]], rules: PackingRules | None = None
) -> tuple[Parcel, ...]:
    """The device's box with the items packed in it, then one box per item that travels alone."""
    rules = rules or PackingRules()
    device = parcel_for(product_line)
    added = Decimal(0)
    alone: list[Parcel] = []
    for item in items:
        kind, quantity = str(item["kind"]), int(item.get("quantity") or 1)
        weight = rules.item_weights_kg.get(kind, UNLISTED_ITEM_KG)
        box = rules.own_box_cm.get(kind)
        if box is None:
            added += weight * quantity
        else:
            alone += [Parcel(weight_kg=weight, length_cm=box[0], width_cm=box[1], height_cm=box[2])] * quantity
    return (device.model_copy(update={"weight_kg": device.weight_kg + added}), *alone)


def repair_parcels(entitlement: Mapping[str, Any], device: Mapping[str, Any]) -> tuple[Parcel, ...]:
    """The parcels kept with a repair when it was created (worked out again for repairs older than that)."""
    stored = entitlement.get("parcels")
    if isinstance(stored, list) and stored:
        return tuple(Parcel.model_validate(parcel) for parcel in stored)
    return parcels_for(str(device.get("product_line")), entitlement.get("items") or [])


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
    parcels: tuple[Parcel, ...],
    ship_date: date,
    *,
    is_return: bool,
) -> ShipmentRequest:
    return ShipmentRequest(
        reference=reference,
        shipper=address(shipper),
        recipient=address(recipient),
        parcels=parcels,
        ship_date=ship_date,
        is_return=is_return,
    )


def pickup_request(
    reference: str,
    site: dict[str, Any],
    parcels: tuple[Parcel, ...],
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
        parcels=parcels,
        tracking_numbers=tracking_numbers,
    )
