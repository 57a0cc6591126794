"""Local wall-clock times to UTC on the nights of daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from logistics.domain.routing import local_instant
from logistics.domain.routing.local_time import is_valid_zone, to_local


def test_ordinary_times_convert_with_the_season_offset() -> None:
    assert local_instant(date(2025, 1, 15), time(9), "Europe/Paris") == datetime(2025, 1, 15, 8, tzinfo=UTC)
    assert local_instant(date(2025, 7, 15), time(9), "Europe/Paris") == datetime(2025, 7, 15, 7, tzinfo=UTC)
    assert local_instant(date(2025, 7, 15), time(9), "Indian/Reunion") == datetime(2025, 7, 15, 5, tzinfo=UTC)


def test_a_nonexistent_time_moves_forward_by_the_gap() -> None:
    # 30 March 2025: Paris clocks jump from 02:00 to 03:00; 02:30 does not exist and reads 03:30 CEST.
    instant = local_instant(date(2025, 3, 30), time(2, 30), "Europe/Paris")
    assert instant == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert to_local(instant, "Europe/Paris").time() == time(3, 30)


def test_an_ambiguous_time_is_its_first_occurrence() -> None:
    # 26 October 2025: Paris clocks fall back from 03:00 to 02:00; 02:30 happens twice.
    instant = local_instant(date(2025, 10, 26), time(2, 30), "Europe/Paris")
    assert instant == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET
    assert local_instant(date(2025, 10, 26), time(2, 30, fold=1), "Europe/Paris") == instant


def test_zone_names_are_checked() -> None:
    assert is_valid_zone("America/Cayenne")
    assert not is_valid_zone("Mars/Olympus_Mons")
    assert not is_valid_zone("../etc/passwd")
