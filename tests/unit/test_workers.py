"""Background workers back off when their step fails, and log once per change of state, not once a second."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from logistics.workers import Sleep, WorkerLoop
from tests.support.clock import ManualClock

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Storage:
    """A step's dependency that fails while ``down``, with a chosen error."""

    def __init__(self) -> None:
        self.error: Exception | None = OSError("disk I/O error")
        self.calls = 0

    async def step(self) -> int:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return 0


def sleeping_on(clock: ManualClock, slept: list[float], stop_after: int) -> Sleep:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)
        if len(slept) >= stop_after:
            raise asyncio.CancelledError

    return sleep


async def test_a_failing_worker_backs_off_exponentially_up_to_the_cap_on_the_injected_clock() -> None:
    clock, slept, storage = ManualClock(START), list[float](), Storage()
    loop = WorkerLoop("bookings", storage.step, 1.0, sleep=sleeping_on(clock, slept, 10), backoff_cap_s=60.0)
    with pytest.raises(asyncio.CancelledError):
        await loop.run()
    assert slept == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0, 60.0]
    assert storage.calls == 10
    assert (clock.now() - START).total_seconds() == sum(slept)  # 5 minutes, where it used to try 303 times


async def test_one_log_line_when_it_starts_failing_one_when_the_failure_changes_and_one_when_it_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = Storage()
    loop = WorkerLoop("notifications", storage.step, 1.0, backoff_cap_s=30.0)
    with caplog.at_level(logging.INFO, logger="logistics.workers"):
        waits = [await loop.run_once() for _ in range(5)]
        storage.error = TimeoutError("locked")
        waits += [await loop.run_once() for _ in range(2)]
        storage.error = None
        waits += [await loop.run_once() for _ in range(2)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 1.0, 1.0]  # then the idle pause again
    lines = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert lines == [
        ("ERROR", "worker notifications failed; trying again with back-off up to 30s"),
        ("WARNING", "worker notifications still failing, now with TimeoutError: locked"),
        ("INFO", "worker notifications works again after 7 failed attempt(s)"),
    ]
    assert caplog.records[0].exc_info is not None  # the first failure keeps its traceback
    assert loop.failures == 0


async def test_a_step_that_did_work_runs_again_at_once() -> None:
    async def busy() -> int:
        return 3

    assert await WorkerLoop("polling", busy, 5.0).run_once() == 0.0


def test_a_cap_shorter_than_the_pause_is_refused() -> None:
    async def idle() -> int:
        return 0

    with pytest.raises(ValueError, match="back-off cap"):
        WorkerLoop("turnaround", idle, 60.0, backoff_cap_s=10.0)


async def test_a_pause_ends_when_new_work_is_told_but_a_back_off_does_not() -> None:
    wake, steps = asyncio.Event(), asyncio.Queue[int]()
    storage = Storage()
    storage.error = None

    async def step() -> int:
        await steps.put(await storage.step())
        return 0

    loop = WorkerLoop("bookings", step, 60.0, wake=wake)  # a minute's pause: only the wake-up can end it
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(steps.get(), 1)
        wake.set()
        await asyncio.wait_for(steps.get(), 1)  # the second step came at once, not a minute later
        assert storage.calls == 2

        storage.error = OSError("disk I/O error")
        wake.set()
        with pytest.raises(TimeoutError):  # the failing step backs off; told of work, it still waits
            await asyncio.wait_for(steps.get(), 1)
        await asyncio.sleep(0)
        assert storage.calls == 3 and loop.failures == 1
        wake.set()
        await asyncio.sleep(0.05)
        assert storage.calls == 3
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
