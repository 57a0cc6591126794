"""The tests' one clock: aware UTC instants, forward by advance, anywhere by set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support.clock import START, ManualClock


def test_it_starts_at_its_monday_and_moves_only_when_told() -> None:
    clock = ManualClock()
    assert clock.now() == START == clock.now()
    assert clock.advance(90, minutes=1) == START + timedelta(seconds=150)


def test_instants_are_given_in_utc_whatever_zone_they_come_in() -> None:
    paris = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=paris))
    assert clock.now() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) and clock.now().tzinfo is UTC


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 3, 2, 8, 0))
    with pytest.raises(ValueError, match="aware"):
        ManualClock().set(datetime(2026, 3, 2, 8, 0))


def test_advance_goes_forward_and_set_may_go_back() -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert clock.now() == START
    clock.set(START - timedelta(days=1))
    assert clock.now() == START - timedelta(days=1)
