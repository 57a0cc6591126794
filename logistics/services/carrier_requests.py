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

from carriers import Address, Parcel, PickupRequest, ShipmentRequest
from logistics.domain.model import DeclaredParcel, Repair, Slot
from logistics.domain.routing import Item, SiteAddress

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


def parcels_for(product_line: str, items: Iterable[Item], rules: PackingRules | None = None) -> tuple[Parcel, ...]:
    """The device's box with the items packed in it, then one box per item that travels alone."""
    rules = rules or PackingRules()
    device = parcel_for(product_line)
    added = Decimal(0)
    alone: list[Parcel] = []
    for item in items:
        weight = rules.item_weights_kg.get(item.kind, UNLISTED_ITEM_KG)
        box = rules.own_box_cm.get(item.kind)
        if box is None:
            added += weight * item.quantity
        else:
            alone += [Parcel(weight_kg=weight, length_cm=box[0], width_cm=box[1], height_cm=box[2])] * item.quantity
    return (device.model_copy(update={"weight_kg": device.weight_kg + added}), *alone)


def kept_parcels(parcels: Iterable[Parcel]) -> tuple[DeclaredParcel, ...]:
    """Parcels as the repair keeps them."""
    return tuple(DeclaredParcel.model_validate(parcel, from_attributes=True) for parcel in parcels)


def repair_parcels(repair: Repair) -> tuple[Parcel, ...]:
    """The parcels kept with a repair when it was created, as carriers are told them."""
    return tuple(Parcel.model_validate(parcel, from_attributes=True) for parcel in repair.routed.parcels)


def address(site: SiteAddress) -> Address:
    """The site as carriers' neutral address (the same fields and limits, see ``SiteAddress``)."""
    return Address.model_validate(site, from_attributes=True)


def shipment_request(
    reference: str,
    shipper: SiteAddress,
    recipient: SiteAddress,
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
    site: SiteAddress,
    parcels: tuple[Parcel, ...],
    slot: Slot,
    tracking_numbers: tuple[str, ...],
) -> PickupRequest:
    return PickupRequest(
        reference=reference,
        address=address(site),
        pickup_date=slot.local_date,
        ready_time=slot.ready_time,
        close_time=slot.close_time,
        time_zone=slot.time_zone,
        parcels=parcels,
        tracking_numbers=tracking_numbers,
    )
