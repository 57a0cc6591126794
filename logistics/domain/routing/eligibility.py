"""Whether the product sheet lets a device and the items sent with it travel at all.

Rules (from the offsite support sheet): hardware moved outside its country of purchase is not served;
branded accessories from the original box (AC adapter, wired mouse and keyboard) travel with the computer;
external monitors, docks, wireless mice and keyboards, headsets and other peripherals are covered only by a
Peripheral Care Pack, which covers at most 6 peripherals of which at most 2 external monitors; consumables,
removable media, tablet pens and non-branded devices are never covered; a spare battery is covered only as
a notebook's own battery. Every broken rule gives one refusal reason, so the customer sees them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from logistics.domain.routing.outcome import Reason, reason
from logistics.domain.routing.request import Entitlement, ItemKind, ProductLine, SiteAddress
from logistics.domain.routing.territory import national_territory

MAX_PERIPHERALS: Final = 6
MAX_MONITORS: Final = 2

ACCESSORIES: Final = frozenset({ItemKind.AC_ADAPTER, ItemKind.WIRED_MOUSE, ItemKind.WIRED_KEYBOARD})
PERIPHERALS: Final = frozenset(
    {
        ItemKind.EXTERNAL_MONITOR,
        ItemKind.DOCK,
        ItemKind.WIRELESS_MOUSE,
        ItemKind.WIRELESS_KEYBOARD,
        ItemKind.HEADSET,
        ItemKind.OTHER_PERIPHERAL,
    }
)
NEVER_COVERED: Final = frozenset(
    {ItemKind.CONSUMABLE, ItemKind.REMOVABLE_MEDIA, ItemKind.TABLET_PEN, ItemKind.NON_BRANDED_DEVICE}
)


def refusals(site: SiteAddress, product_line: ProductLine, entitlement: Entitlement) -> tuple[Reason, ...]:
    """Every eligibility rule the request breaks; empty when it may travel."""
    reasons: list[Reason] = []
    site_country, _ = national_territory(site.country)
    purchase_country, _ = national_territory(entitlement.country_of_purchase)
    if site_country != purchase_country:
        reasons.append(
            reason(
                code="eligibility.outside_country_of_purchase",
                message=(
                    f"The site is in {site.country} but the device was bought in "
                    f"{entitlement.country_of_purchase}; hardware moved outside its country of purchase is "
                    f"not served."
                ),
            )
        )
    reasons.extend(_item_refusals(entitlement, product_line))
    return tuple(reasons)


def _item_refusals(entitlement: Entitlement, product_line: ProductLine) -> Iterable[Reason]:
    counts: dict[ItemKind, int] = {}
    for item in entitlement.items:
        counts[item.kind] = counts.get(item.kind, 0) + item.quantity
    for kind in sorted(counts.keys() & NEVER_COVERED):
        yield reason(
            code="eligibility.item_not_covered",
            message=f"Not covered, must not be sent: {_label(kind)} (quantity {counts[kind]}).",
        )
    if counts.get(ItemKind.BATTERY) and product_line is not ProductLine.NOTEBOOK:
        yield reason(
            code="eligibility.item_not_covered",
            message="A separate battery is covered only as a notebook's own battery.",
        )
    peripherals = {kind: n for kind, n in counts.items() if kind in PERIPHERALS}
    if not peripherals:
        return
    if not entitlement.peripheral_care_pack:
        yield reason(
            code="eligibility.peripheral_not_covered",
            message=(
                f"Covered only by a Peripheral Care Pack, which this entitlement does not include: "
                f"{', '.join(_label(k) for k in sorted(peripherals))}."
            ),
        )
        return
    monitors = peripherals.get(ItemKind.EXTERNAL_MONITOR, 0)
    if monitors > MAX_MONITORS:
        yield reason(
            code="eligibility.too_many_monitors",
            message=(f"{monitors} external monitors listed; the Peripheral Care Pack covers at most {MAX_MONITORS}."),
        )
    total = sum(peripherals.values())
    if total > MAX_PERIPHERALS:
        yield reason(
            code="eligibility.too_many_peripherals",
            message=f"{total} peripherals listed; the Peripheral Care Pack covers at most {MAX_PERIPHERALS}.",
        )


def _label(kind: ItemKind) -> str:
    return kind.value.replace("_", " ")
