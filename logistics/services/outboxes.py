"""How much the two outboxes hold: carrier calls promised and not yet made, notifications not yet delivered.

Read for the ``logistics_outbox_depth`` gauge. It needs only the outboxes' reads, and asks for no more.
"""

from __future__ import annotations

from logistics.services.ports import OutboxQueries


class Outboxes:
    def __init__(self, reads: OutboxQueries) -> None:
        self._reads = reads

    async def depth(self) -> dict[str, int]:
        """Pending bookings (``bookings``) and notifications neither delivered nor abandoned (``notifications``)."""
        return await self._reads.outbox_depth()
