"""The stored repair document: today's shape round-trips, and the first releases' shape still reads."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from logistics.domain.routing import ItemKind
from logistics.storage.codec import read_repair

# A self-shipment repair as the first releases stored it: what routing decided sat in ``entitlement``.
FIRST_RELEASE = (Path(__file__).parent / "repair_document_first_release.json").read_text(encoding="utf-8")


def test_a_document_of_the_first_releases_reads_with_routing_in_its_own_record() -> None:
    repair = read_repair(FIRST_RELEASE)
    assert repair.routed.drop_off is not None and repair.routed.drop_off.startswith("Emballez l'appareil")
    assert repair.routed.ship_by == date(2026, 3, 9)
    assert repair.routed.return_carrier == "sim"
    assert repair.routed.site_time_zone == "Europe/Paris"
    assert repair.routed.site_calendar_subdivision is None
    assert repair.routed.site_business_days is not None
    assert repair.routed.site_business_days.working_days == ("mon", "tue", "wed", "thu", "fri")
    assert [p.weight_kg for p in repair.routed.parcels] == [Decimal("4.0")]
    assert repair.include_self_test_results is True
    assert [item.kind for item in repair.entitlement.items] == [ItemKind.BATTERY]
    assert repair.site.city == "Ajaccio" and repair.device.serial_number == "5CG1234XYZ"
    assert repair.turnaround is not None and repair.turnaround.inbound_business_days == 6


def test_todays_document_reads_back_as_the_same_repair() -> None:
    repair = read_repair(FIRST_RELEASE)
    document = repair.model_dump_json()
    assert "routed" in json.loads(document)
    assert "drop_off" not in json.loads(document)["entitlement"]
    assert read_repair(document) == repair


def test_a_document_that_is_neither_shape_is_refused() -> None:
    broken = json.loads(FIRST_RELEASE)
    broken["entitlement"]["colour"] = "blue"
    with pytest.raises(ValidationError):
        read_repair(json.dumps(broken))
