"""Periodic passes that one instance runs at a time.

The turnaround clocks and housekeeping look over the whole store every so often. Instances sharing one
database would each run every pass, doing the same reads N times (their writes are safe either way: each
change is made under the repair's lock, re-checked). Instead each pass is claimed for its period in the
store (``claim_pass``, a row per pass with its holder and how long the claim runs): the instance that takes
it runs the pass, the others skip their turn. The holder renews its claim at each of its turns; when it
stops (a crash, a shutdown), its claim runs out after one period and the next instance whose turn comes
takes the pass over. On a store one process owns, the claim is always its own.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from logistics.clock import Clock
from logistics.services.ports import Store

logger = logging.getLogger(__name__)


def instance_name() -> str:
    """This process's name as a claim's holder: host, pid and a random part (a pid may come back)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ClaimedPass:
    """``run`` as a step of a worker, run only when this instance holds pass ``name`` for ``period``."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        name: str,
        period: timedelta,
        run: Callable[[], Awaitable[int]],
        *,
        holder: str,
    ) -> None:
        if period <= timedelta(0):
            raise ValueError("a periodic pass needs a positive period")
        self.name = name
        self._store = store
        self._clock = clock
        self._period = period
        self._run = run
        self._holder = holder
        self._held: bool | None = None  # unknown until the first turn

    async def __call__(self) -> int:
        """Run the pass if this instance takes (or holds) it; what the pass returns, or 0 when skipped."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            taken = await tx.claim_pass(self.name, self._holder, now, now + self._period)
        if taken != self._held:  # one line per change of hands, not one per turn
            if taken:
                logger.info("this instance (%s) runs the %s pass", self._holder, self.name)
            else:
                logger.info("another instance runs the %s pass; this one skips it", self.name)
            self._held = taken
        return await self._run() if taken else 0
