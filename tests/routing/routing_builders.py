"""Builders for routing requests in tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from logistics.domain.routing import (
    Device,
    Entitlement,
    Item,
    ProductLine,
    RoutingRequest,
    ServiceLevel,
    SiteAddress,
)


def build_request(
    country: str = "FR",
    postal_code: str = "75011",
    *,
    subdivision: str | None = None,
    product_line: ProductLine = ProductLine.NOTEBOOK,
    service_level: ServiceLevel = ServiceLevel.EITHER,
    country_of_purchase: str | None = None,
    items: tuple[Item, ...] = (),
    preferred_date: date | None = None,
    **options: Any,
) -> RoutingRequest:
    return RoutingRequest(
        site=SiteAddress(
            name="Camille Martin",
            company="Atelier Martin",
            street_lines=("1 rue de la Paix",),
            city="Somewhere",
            postal_code=postal_code,
            country=country,
            subdivision=subdivision,
            phone="+33 1 00 00 00 00",
        ),
        device=Device(product_line=product_line, model="EliteBook 840", serial_number="5CG0000000"),
        entitlement=Entitlement(
            service_level=service_level,
            country_of_purchase=country_of_purchase or country,
            items=items,
            **options,
        ),
        preferred_date=preferred_date,
    )
