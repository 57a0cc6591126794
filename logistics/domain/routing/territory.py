"""Overseas departments that carry their own ISO country code but belong to a national territory.

Carriers often write Réunion as "RE"; the coverage and the country-of-purchase rule see it as France,
department 974. Mapping both spellings to one keeps "bought in France, used in Réunion" inside the country.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

_OVERSEAS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "GP": ("FR", "971"),
        "MQ": ("FR", "972"),
        "GF": ("FR", "973"),
        "RE": ("FR", "974"),
        "YT": ("FR", "976"),
    }
)


def national_territory(country: str, subdivision: str | None = None) -> tuple[str, str | None]:
    """(country, subdivision) with an overseas department's own code folded into its nation."""
    folded = _OVERSEAS.get(country.upper())
    if folded is not None:
        return folded
    return country.upper(), subdivision
