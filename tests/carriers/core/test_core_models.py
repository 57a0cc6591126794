"""The neutral carrier models refuse instants the service could not store or order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from carriers.models import TrackingEvent, TrackingStatus


def _event(occurred_at: Any) -> TrackingEvent:
    return TrackingEvent(
        carrier="sim",
        tracking_number="1Z0000000000000001",
        event_id="e1",
        occurred_at=occurred_at,
        status=TrackingStatus.IN_TRANSIT,
        raw_code="IT",
    )


def test_an_aware_instant_is_kept_as_given() -> None:
    paris = timezone(timedelta(hours=1))
    event = _event("2025-03-03T10:00:00+01:00")
    assert event.occurred_at == datetime(2025, 3, 3, 10, tzinfo=paris)
    assert event.occurred_at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2025-03-03T10:00:00", "timezone-aware"),
        ("9999-12-31T23:59:59-14:00", "no UTC equivalent"),
        ("0001-01-01T00:00:00+14:00", "no UTC equivalent"),
    ],
)
def test_instants_without_a_utc_equivalent_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        _event(value)
