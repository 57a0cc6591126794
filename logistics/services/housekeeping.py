"""Housekeeping: what the service stops keeping once nobody may need it.

The answers kept for ``Idempotency-Key`` replays are kept for ``idempotency_retention_days``, then
forgotten, oldest first, a batch at a time. A request sent again with its key after that runs again, and
finds what it did: a create finds its repair by the key (stored with its origin; a key reused for another
case is refused) and answers with a new label link; a cancel, a dispatch, a receipt or a reschedule to the
slot already booked is recognised as done. (Stripe keeps keys for a day; the default here is a week.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from logistics.clock import Clock
from logistics.services.ports import Store

logger = logging.getLogger(__name__)

BATCH = 500
BATCHES_PER_RUN = 20


class Housekeeping:
    def __init__(self, store: Store, clock: Clock, *, idempotency_retention: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._retention = idempotency_retention

    async def run(self) -> int:
        """Forget the answers older than the retention; returns how many were forgotten."""
        before = self._clock.now() - self._retention
        forgotten = 0
        for _ in range(BATCHES_PER_RUN):  # short transactions, so requests are not held up behind one
            async with self._store.transaction() as tx:
                count = await tx.forget_idempotency(before, BATCH)
            forgotten += count
            if count < BATCH:
                break
        if forgotten:
            logger.info("forgot %d idempotency answers kept since before %s", forgotten, before.isoformat())
        return forgotten
