"""The published limits are enforced when a description is built, not discovered when it is drawn."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from labels import PickupInfo, limits
from tests.labels.label_builders import customer_address, description, instructions, longest_description


def test_longest_allowed_description_is_valid() -> None:
    assert longest_description().tracking_number == "W" * limits.TRACKING_NUMBER_MAX


@pytest.mark.parametrize(
    "changes",
    [
        {"tracking_number": "1" * (limits.TRACKING_NUMBER_MAX + 1)},
        {"tracking_number": "1Z 999"},
        {"tracking_number": "1Z999Ü"},
        {"case_reference": "C" * (limits.CASE_REFERENCE_MAX + 1)},
        {"intake_payload": "x" * (limits.INTAKE_PAYLOAD_MAX + 1)},
        {"piece_number": 3, "piece_count": 2},
        {"piece_count": limits.PIECE_COUNT_MAX + 1},
        {"weight_kg": "0"},
        {"direction": "sideways"},
        {"carrier_name": "UPS\nGround"},
    ],
)
def test_values_beyond_the_limits_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        description(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "N" * (limits.NAME_MAX + 1)},
        {"street_lines": ()},
        {"street_lines": ("a", "b", "c", "d")},
        {"street_lines": ("S" * (limits.STREET_LINE_MAX + 1),)},
        {"country": "POL"},
        {"country": "pl"},
        {"phone": "+4"},
        {"phone": "+48 22\n123"},
    ],
)
def test_address_limits(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        customer_address(**changes)


def test_pickup_window_is_validated() -> None:
    with pytest.raises(ValidationError):
        PickupInfo(date=date(2025, 3, 5), ready_time="17:00", close_time="09:00", time_zone="Europe/Paris")
    with pytest.raises(ValidationError):
        PickupInfo(date=date(2025, 3, 5), ready_time="09:00", close_time="17:00", time_zone="Mars/Olympus")


def test_pickup_and_drop_off_are_exclusive() -> None:
    with pytest.raises(ValidationError):
        instructions(drop_off="Post office")


def test_descriptions_are_frozen() -> None:
    label = description()
    with pytest.raises(ValidationError):
        label.case_reference = "other"  # type: ignore[misc]
