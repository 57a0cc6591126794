"""The passes over the whole store (turnaround clocks, housekeeping) run on one instance of several at a
time, and another takes a pass over when its holder stops (on every store: the ``store`` fixture)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from logistics.services.passes import ClaimedPass, instance_name
from logistics.services.ports import Store
from tests.support.clock import ManualClock

PERIOD = timedelta(minutes=1)


class Pass:
    """A pass that counts its runs."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> int:
        self.runs += 1
        return 0


async def test_a_pass_runs_on_the_instance_holding_it_and_moves_when_its_holder_stops(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    work = Pass()
    first, second = (ClaimedPass(store, clock, "turnaround", PERIOD, work, holder=name) for name in ("a", "b"))
    caplog.set_level(logging.INFO, logger="logistics.services.passes")

    assert await first() == 0 and await second() == 0
    assert work.runs == 1  # the second instance skipped its turn
    clock.advance(seconds=45)
    await second()
    await first()  # the holder renews at its turn
    assert work.runs == 2
    clock.advance(seconds=50)
    await second()  # still held: renewed 50 s ago for a minute
    assert work.runs == 2

    clock.advance(seconds=15)  # the first instance stopped: its claim ran out
    await second()
    assert work.runs == 3
    await first()
    assert work.runs == 3
    said = [r.getMessage() for r in caplog.records]
    assert said.count("this instance (a) runs the turnaround pass") == 1
    assert said.count("this instance (b) runs the turnaround pass") == 1
    assert said.count("another instance runs the turnaround pass; this one skips it") == 2


def test_a_pass_needs_a_period_and_instances_have_names_of_their_own(store: Store) -> None:
    with pytest.raises(ValueError, match="positive period"):
        ClaimedPass(store, ManualClock(), "turnaround", timedelta(0), Pass(), holder="a")
    assert instance_name() != instance_name()
