"""What the case system tells routing: the customer's site, the device, and what the customer is entitled to.

Field limits on ``SiteAddress`` match the carriers' neutral ``Address`` so that one converts into the other
without loss (``SiteAddress.model_dump()`` is a valid ``Address``).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from logistics.domain.text import plain_text

ISO_COUNTRY = r"^[A-Z]{2}$"
MAX_ITEMS = 20  # what travels with one computer: the packing slip and the receipt list them all

_text = plain_text


def _whole_number(value: Any) -> Any:
    """JSON Schema's ``integer`` is any number without a fractional part, so ``1.0`` is one; bodies are
    validated strictly (no text or booleans for numbers), which alone would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProductLine(enum.StrEnum):
    NOTEBOOK = "notebook"
    DESKTOP = "desktop"
    ALL_IN_ONE = "all_in_one"  # its screen is part of the computer, not an external monitor
    WORKSTATION = "workstation"


class ServiceLevel(enum.StrEnum):
    """How the maker wants the device to reach the repair centre (the case system's choice)."""

    PICKUP_AND_RETURN = "pickup_and_return"
    CUSTOMER_SHIP = "customer_ship"
    EITHER = "either"


class ItemKind(enum.StrEnum):
    """What may travel with the computer; see ``eligibility`` for which kinds are covered."""

    # Branded accessories from the original box: covered with the computer.
    AC_ADAPTER = "ac_adapter"
    WIRED_MOUSE = "wired_mouse"
    WIRED_KEYBOARD = "wired_keyboard"
    # Peripherals: covered only by a Peripheral Care Pack (at most 6, of which at most 2 monitors).
    EXTERNAL_MONITOR = "external_monitor"
    DOCK = "dock"
    WIRELESS_MOUSE = "wireless_mouse"
    WIRELESS_KEYBOARD = "wireless_keyboard"
    HEADSET = "headset"
    OTHER_PERIPHERAL = "other_peripheral"
    # A business notebook's own battery, covered with the notebook.
    BATTERY = "battery"
    # Never covered.
    CONSUMABLE = "consumable"
    REMOVABLE_MEDIA = "removable_media"
    TABLET_PEN = "tablet_pen"
    NON_BRANDED_DEVICE = "non_branded_device"


class SiteAddress(_Frozen):
    """The customer's site: where a courier collects and where the repaired unit returns.

    ``subdivision`` is the ISO 3166-2 suffix as the holidays calendar knows it ("BY", "SCT", "CN"); for
    France, the department when its holidays differ: "57", "67" or "68" (Alsace-Moselle), "971" to "976"
    (overseas). It may be left out when the coverage region sets the calendar from the postal code.
    Overseas departments may also be given with their own ISO country codes (GP, MQ, GF, RE, YT).
    """

    # Lines of 35 characters: what carriers accept and what the label prints (carriers.Address, labels' limits).
    name: Annotated[str, _text(35)]
    company: Annotated[str, _text(35)] | None = None
    street_lines: tuple[Annotated[str, _text(35)], ...] = Field(min_length=1, max_length=3)
    city: Annotated[str, _text(35)]
    postal_code: Annotated[str, _text(12)]
    country: str = Field(pattern=ISO_COUNTRY, description="ISO 3166-1 alpha-2")
    subdivision: Annotated[str, _text(10)] | None = Field(default=None, description="ISO 3166-2 suffix, e.g. 'BY'")
    phone: Annotated[str, _text(25, min_length=4)]
    email: Annotated[str, _text(254)] | None = None


class Device(_Frozen):
    product_line: ProductLine
    model: Annotated[str, _text(100)]
    serial_number: Annotated[str, _text(50)]


class Item(_Frozen):
    """Something the customer will send besides the computer."""

    kind: ItemKind
    description: Annotated[str, _text(60)] | None = None  # a line of the packing instructions (labels' limit)
    quantity: WholeNumber = Field(default=1, ge=1, le=99)


class Entitlement(_Frozen):
    service_level: ServiceLevel
    country_of_purchase: str = Field(pattern=ISO_COUNTRY)
    defective_media_retention: bool = False
    accidental_damage_protection: bool = False
    peripheral_care_pack: bool = False
    # One line each on the packing slip, which has room for 20 (the labels' limit).
    items: tuple[Item, ...] = Field(default=(), max_length=MAX_ITEMS)


class RoutingRequest(_Frozen):
    site: SiteAddress
    device: Device
    entitlement: Entitlement
    preferred_date: date | None = Field(default=None, description="preferred local pickup date at the site")
