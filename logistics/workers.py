"""Background workers: one step after another, a pause when a step found nothing to do, and an exponential
back-off when steps fail.

A step that fails (the database unavailable, a bug) is tried again after ``pause``, then twice that, and so
on up to ``backoff_cap_s``; the first success goes back to the normal rhythm. The log gets one line per
change of state, not one per attempt: an ERROR (with the traceback) when a worker starts failing, a WARNING
when the failure changes its kind, and an INFO when it works again, with how many attempts failed.

With ``wake``, a pause (not a back-off) ends as soon as the event is set: new work told by another
instance or by this one's own commits. Time is injected (``sleep``), so the rhythm is tested without
waiting. Nothing here knows what a step does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_BACKOFF_CAP_S = 300.0


class WorkerLoop:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[int]],
        pause_s: float,
        *,
        sleep: Sleep = asyncio.sleep,
        backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S,
        wake: asyncio.Event | None = None,
    ) -> None:
        if pause_s <= 0 or backoff_cap_s < pause_s:
            raise ValueError("a worker needs a positive pause and a back-off cap no shorter than it")
        self.name = name
        self._step = step
        self._pause_s = pause_s
        self._sleep = sleep
        self._cap_s = backoff_cap_s
        self._wake = wake  # set when new work is told (by another instance, or this one's own commits)
        self.failures = 0  # consecutive failed steps
        self._failing_with: str | None = None  # the kind of the current failure, for the log

    def backoff_s(self) -> float:
        """The wait after ``failures`` consecutive failures: the pause, doubled each time, up to the cap."""
        return min(self._cap_s, self._pause_s * 2.0 ** max(0, self.failures - 1))

    async def run_once(self) -> float:
        """One step; returns how long to wait before the next (0 when the step did some work)."""
        try:
            done = await self._step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            kind = type(exc).__name__
            if self._failing_with is None:
                logger.exception("worker %s failed; trying again with back-off up to %.0fs", self.name, self._cap_s)
            elif kind != self._failing_with:
                logger.warning("worker %s still failing, now with %s: %s", self.name, kind, exc)
            self._failing_with = kind
            return self.backoff_s()
        if self._failing_with is not None:
            logger.info("worker %s works again after %d failed attempt(s)", self.name, self.failures)
        self.failures = 0
        self._failing_with = None
        return 0.0 if done else self._pause_s

    async def run(self) -> None:
        """Run until cancelled."""
        while True:
            if self._wake is not None:
                self._wake.clear()  # work told from now on is looked at by this step or the next one
            wait = await self.run_once()
            if not wait:
                continue
            if self._wake is None or self.failures:
                await self._sleep(wait)  # a failing worker backs off even when told of new work
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
