"""The case system reads its notifications back: a feed across repairs for catching up after an outage, and an
operator's redelivery of a repair's notifications or of a time range.

The feed is the notification outbox itself, read in the order notifications were queued (each carries its
position, which only grows), so a case system that was down reads everything it missed from its last
cursor, delivered or not. A redelivery queues the chosen notifications again, due now and retried for the
whole ``retry_for_s`` from the request, under their original ids and sequence numbers: a receiver that
deduplicates by ``webhook-id`` takes only what it had missed. This module does no HTTP.
"""

from __future__ import annotations

import logging
from datetime import datetime

from logistics.clock import Clock
from logistics.errors import InvalidRequest, NotFound
from logistics.services.ports import FeedEntry, Store

logger = logging.getLogger(__name__)


class NotificationLog:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def feed(self, after: str | None, limit: int) -> tuple[list[FeedEntry], str]:
        """Notifications after the cursor ``after`` (from the start when None), and the cursor to ask from next."""
        position = 0
        if after is not None:
            if not after.isdigit() or len(after) > 18:
                raise InvalidRequest(
                    "the cursor is not one this feed gave",
                    code="feed.bad_cursor",
                    fields=[{"name": "after", "reason": "not a cursor of this feed"}],
                )
            position = int(after)
        entries = await self._store.reader().notification_feed(position, limit)
        return entries, str(entries[-1].position if entries else position)

    async def redeliver(self, repair_id: str | None, since: datetime | None, until: datetime | None) -> int:
        """Queue again the notifications of a repair and/or queued within [since, until); returns how many."""
        if repair_id is None and since is None and until is None:
            raise InvalidRequest("name a repair, a time range, or both", code="redelivery.unbounded")
        if since is not None and until is not None and until <= since:
            raise InvalidRequest(
                "the time range is empty",
                code="redelivery.empty_range",
                fields=[{"name": "until", "reason": "must be after since"}],
            )
        if repair_id is not None and await self._store.reader().get_repair(repair_id) is None:
            raise NotFound("no such repair", code="repair.not_found")
        now = self._clock.now()
        async with self._store.transaction() as tx:
            count = await tx.requeue_notifications(repair_id, since, until, now)
        logger.info(
            "redelivery of %d notification(s) requested (repair %s, from %s, until %s)", count, repair_id, since, until
        )
        return count
