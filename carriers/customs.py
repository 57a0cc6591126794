"""Where customs begin: the European Union's member states, between which parcels carry no customs
declaration. Shared by the adapters that decide what a shipment is allowed or needs (pure data, no I/O)."""

from __future__ import annotations

from typing import Final

EU_MEMBER_STATES: Final = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip


def within_the_eu(*countries: str) -> bool:
    """Whether every country (ISO 3166-1 alpha-2) is a member state: no customs between them."""
    return all(country in EU_MEMBER_STATES for country in countries)
