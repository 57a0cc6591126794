"""The customer's label link, read back and re-issued by the case system.

Tokens are stored only as hashes, so a link cannot be shown twice; the case system reads where the
customer's link stands (live, expired, revoked) and, when the customer lost the e-mail or the link expired,
re-issues it: a new token, a new expiry, every earlier link of the inbound leg revoked in the same
transaction. A cancelled repair's link is not re-issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from logistics.clock import Clock
from logistics.domain.journey import JourneyState, LegDirection
from logistics.errors import Conflict, NotFound
from logistics.services.label_links import new_link
from logistics.services.ports import Store


@dataclass(frozen=True)
class LinkStatus:
    status: Literal["live", "expired", "revoked", "none"]
    issued_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Reissued:
    token: str
    expires_at: datetime
    revoked: int


class CustomerLabels:
    def __init__(self, store: Store, clock: Clock, *, link_ttl: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._ttl = link_ttl

    async def status(self, repair_id: str) -> LinkStatus:
        """Where the customer's newest label link stands."""
        links = await self._store.reader().label_links_of(repair_id, LegDirection.INBOUND)
        if not links:
            return LinkStatus("none", None, None)
        newest = links[-1]
        if newest.revoked_at is not None:
            status: Literal["live", "expired", "revoked"] = "revoked"
        elif newest.expires_at <= self._clock.now():
            status = "expired"
        else:
            status = "live"
        return LinkStatus(status, newest.created_at, newest.expires_at)

    async def reissue(self, repair_id: str) -> Reissued:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(repair_id)
            if repair is None:
                raise NotFound("no such repair", code="repair.not_found")
            if repair.state is JourneyState.CANCELLED:
                raise Conflict("the repair is cancelled: its label is not re-issued", code="label.not_reissuable")
            revoked = await tx.revoke_label_links(repair_id, now, LegDirection.INBOUND)
            token, link = new_link(repair_id, LegDirection.INBOUND, now, self._ttl)
            await tx.add_label_link(link)
        return Reissued(token=token, expires_at=link.expires_at, revoked=revoked)
