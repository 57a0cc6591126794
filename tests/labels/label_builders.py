"""Label descriptions for the label tests: a realistic one and one with every field at its limit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import cycle as _cycle
from typing import Any

from labels import LabelAddress, LabelDescription, PackedItem, PackingInstructions, PickupInfo, SupportHours, limits
from labels.catalogue import ITEM_KINDS

LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def customer_address(**changes: Any) -> LabelAddress:
    values: dict[str, Any] = {
        "name": "Zofia Łukasiewicz",
        "company": "Żółć Sp. z o.o.",
        "street_lines": ("ul. Świętokrzyska 12",),
        "postal_code": "00-916",
        "city": "Warszawa",
        "country": "PL",
        "phone": "+48 22 123 45 67",
    }
    values.update(changes)
    return LabelAddress(**values)


def repair_centre_address(**changes: Any) -> LabelAddress:
    values: dict[str, Any] = {
        "name": "Centre de réparation Lyon",
        "street_lines": ("12 rue de la Réparation", "Bâtiment B"),
        "postal_code": "69007",
        "city": "Lyon",
        "country": "FR",
        "phone": "+33 4 72 00 00 00",
    }
    values.update(changes)
    return LabelAddress(**values)


def instructions(**changes: Any) -> PackingInstructions:
    values: dict[str, Any] = {
        "pickup": PickupInfo(date=date(2025, 3, 5), ready_time="09:00", close_time="17:00", time_zone="Europe/Warsaw"),
        "defective_media_retention": True,
        "include_self_test_results": True,
        "items_to_include": (PackedItem(kind="dock"), PackedItem(kind="wireless_keyboard")),
        "support_hours": SupportHours(first_day=1, last_day=5, opens="08:00", closes="17:00"),
        "support_phone": "+48 22 000 00 00",
    }
    values.update(changes)
    return PackingInstructions(**values)


def description(**changes: Any) -> LabelDescription:
    values: dict[str, Any] = {
        "language": "fr",
        "direction": "to_repair_centre",
        "carrier_name": "UPS",
        "service_name": "UPS Standard",
        "sender": customer_address(),
        "recipient": repair_centre_address(),
        "tracking_number": "1Z999AA10123456784",
        "routing_code": "FR 690 7-01",
        "weight_kg": Decimal("2.5"),
        "piece_number": 1,
        "piece_count": 1,
        "ship_date": date(2025, 3, 4),
        "case_reference": "CASE-2025-000123",
        "intake_payload": "RMA:CASE-2025-000123|SN:5CG1234XYZ|PN:4B6X9EA",
        "contains_lithium_battery": True,
        "instructions": instructions(),
    }
    values.update(changes)
    return LabelDescription(**values)


def _widest(length: int) -> str:
    # "W" and "Ш" are among the widest glyphs of the typeface; words of 5 keep wrapping honest.
    pattern = "WШWШW "
    return (pattern * (length // len(pattern) + 1))[:length].strip().ljust(length, "W")


def longest_address() -> LabelAddress:
    return LabelAddress(
        name=_widest(limits.NAME_MAX),
        company=_widest(limits.COMPANY_MAX),
        street_lines=tuple(_widest(limits.STREET_LINE_MAX) for _ in range(limits.STREET_LINES_MAX)),
        postal_code="W" * limits.POSTAL_CODE_MAX,
        city=_widest(limits.CITY_MAX),
        country="GB",
        phone="+" + "8" * (limits.PHONE_MAX - 1),
    )


def longest_description(language: str = "en", **changes: Any) -> LabelDescription:
    """Every text field at its published maximum, in wide glyphs."""
    values: dict[str, Any] = {
        "language": language,
        "direction": "to_repair_centre",
        "carrier_name": _widest(limits.CARRIER_NAME_MAX),
        "service_name": _widest(limits.SERVICE_NAME_MAX),
        "sender": longest_address(),
        "recipient": longest_address(),
        "tracking_number": "W" * limits.TRACKING_NUMBER_MAX,
        "routing_code": _widest(limits.ROUTING_CODE_MAX),
        "weight_kg": Decimal("999"),
        "piece_number": limits.PIECE_COUNT_MAX,
        "piece_count": limits.PIECE_COUNT_MAX,
        "ship_date": date(2025, 12, 31),
        "case_reference": "W" * limits.CASE_REFERENCE_MAX,
        "intake_payload": "w" * limits.INTAKE_PAYLOAD_MAX,
        "contains_lithium_battery": True,
        "instructions": PackingInstructions(
            drop_off=_widest(limits.DROP_OFF_MAX),
            defective_media_retention=True,
            include_self_test_results=True,
            drop_off_language="de" if language != "de" else "fr",
            items_to_include=tuple(
                PackedItem(kind=kind, note=_widest(limits.ITEM_MAX), quantity=limits.ITEM_QUANTITY_MAX)
                for kind, _ in zip(_cycle(sorted(ITEM_KINDS)), range(limits.ITEMS_MAX), strict=False)
            ),
            support_hours=SupportHours(first_day=1, last_day=7, opens="00:00", closes="23:59"),
            support_phone="+" + "8" * (limits.PHONE_MAX - 1),
            case_reference="W" * limits.CASE_REFERENCE_MAX,
        ),
    }
    values.update(changes)
    return LabelDescription(**values)
