"""Requests a case system and a repair centre send, and carrier pushes, for journey tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from carriers.sim.push import sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET
from tests.support.service import Service

PARIS_SITE = {
    "name": "Camille Martin",
    "company": "Atelier Martin",
    "street_lines": ["14 rue Oberkampf"],
    "city": "Paris",
    "postal_code": "75011",
    "country": "FR",
    "phone": "+33 1 00 00 00 00",
    "email": "camille@example.org",
}
CORSICA_SITE = {
    "name": "Ghjuvanni Santoni",
    "street_lines": ["3 cours Napoléon"],
    "city": "Ajaccio",
    "postal_code": "20000",
    "country": "FR",
    "phone": "+33 4 95 00 00 00",
}


def repair_request(
    site: dict[str, Any],
    case_id: str,
    *,
    service_level: str = "either",
    product_line: str = "notebook",
    **entitlement: Any,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "language": "fr",
        "site": site,
        "device": {"product_line": product_line, "model": "EliteBook 840 G9", "serial_number": "5CG1234XYZ"},
        "entitlement": {
            "service_level": service_level,
            "country_of_purchase": site["country"],
            "items": [{"kind": "ac_adapter"}],
            **entitlement,
        },
    }


async def push(
    service: Service,
    events: list[dict[str, Any]],
    *,
    secret: str = DEVELOPMENT_PUSH_SECRET,
    timestamp: datetime | None = None,
) -> tuple[int, Any]:
    body = json.dumps({"events": events}).encode()
    sent_at = int((timestamp or service.clock.now()).timestamp())
    headers = {"Content-Type": "application/json", **sign_push(secret, body, sent_at)}
    status, answer, _ = await service.call("POST", "/v1/carriers/sim/events", None, data=body, headers=headers)
    return status, answer


def scan(tracking_number: str, code: str, at: datetime, location: str = "Hub") -> dict[str, Any]:
    return {
        "tracking_number": tracking_number,
        "code": code,
        "occurred_at": at.isoformat(),
        "location": location,
    }
