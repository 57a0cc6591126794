"""What a customer's label link opens: the repair behind a live link, why a link no longer works, and the one
change a customer may make through it (moving the courier pickup to another offered slot).

A link is the customer's only credential, so everything here is scoped to the repair the link names. Moving
the pickup goes through ``Repairs.reschedule``, the same use case the case system calls: there is no second
way to change a repair. This module knows nothing of HTTP or HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from logistics.clock import Clock
from logistics.domain.journey import Actor, JourneyState, LegDirection, LegMethod
from logistics.domain.model import Repair
from logistics.domain.routing import PickupSlot
from logistics.errors import Conflict, NotFound, RuleRefused
from logistics.services.label_links import token_hash
from logistics.services.ports import HistoryEntry, LabelLink, Store
from logistics.services.repairs import Repairs, Reschedule, routing_request
from logistics.services.routing import Routing

GoneReason = Literal["unknown", "expired", "revoked"]

# Each move cancels a booked pickup and books another with the carrier: a customer moves it online a few
# times at most, then asks support (the case system can still reschedule).
CUSTOMER_MOVES = 3


@dataclass(frozen=True)
class OpenLink:
    """A live link: its leg, the repair and the repair's history, oldest first."""

    leg: LegDirection
    expires_at: datetime
    repair: Repair
    history: list[HistoryEntry]


@dataclass(frozen=True)
class GoneLink:
    """A link that opens nothing, and why. ``repair`` is known for an expired or revoked link (its language
    and case number help the customer), never for an unknown one."""

    reason: GoneReason
    expires_at: datetime | None = None
    repair: Repair | None = None


def customer_moves(opened: OpenLink) -> int:
    """How often the customer has moved the pickup through the link's page."""
    return sum(1 for e in opened.history if e.change.kind == "rescheduled" and e.change.actor is Actor.CUSTOMER)


def can_move_pickup(opened: OpenLink) -> bool:
    repair = opened.repair
    return (
        opened.leg is LegDirection.INBOUND
        and repair.state is JourneyState.AWAITING_PICKUP
        and repair.inbound.method is LegMethod.COURIER_PICKUP
    )


class CustomerLinks:
    def __init__(self, store: Store, clock: Clock, routing: Routing, repairs: Repairs) -> None:
        self._store = store
        self._clock = clock
        self._routing = routing
        self._repairs = repairs

    async def _link(self, token: str) -> LabelLink | None:
        if not token or len(token) > 128:
            return None
        return await self._store.reader().label_link(token_hash(token))

    async def open(self, token: str) -> OpenLink | GoneLink:
        link = await self._link(token)
        if link is None:
            return GoneLink("unknown")
        reader = self._store.reader()
        repair = await reader.get_repair(link.repair_id)
        if repair is None:
            return GoneLink("unknown")
        if link.revoked_at is not None or repair.state is JourneyState.CANCELLED:
            return GoneLink("revoked", link.expires_at, repair)
        if link.expires_at <= self._clock.now():
            return GoneLink("expired", link.expires_at, repair)
        return OpenLink(link.leg, link.expires_at, repair, await reader.history(repair.id))

    def offered_slots(self, opened: OpenLink) -> tuple[PickupSlot, ...]:
        """The pickup slots the customer may move to now (none where the journey no longer allows a move)."""
        if not can_move_pickup(opened) or customer_moves(opened) >= CUSTOMER_MOVES:
            return ()
        return self._routing.quote(routing_request(opened.repair, None)).slots

    async def move_pickup(self, token: str, local_date: date, source: str) -> Repair:
        """Move the courier pickup to the offered slot on ``local_date``. Asking again for the day the pickup is
        on already changes nothing (a form sent twice, or a page reloaded after the move)."""
        opened = await self.open(token)
        if isinstance(opened, GoneLink):
            raise NotFound("no label at this address", code="label.not_found")
        held = opened.repair.inbound.pickup
        if held is not None and held.local_date == local_date and can_move_pickup(opened):
            return opened.repair
        if not can_move_pickup(opened):
            raise Conflict("this pickup can no longer be moved", code="reschedule.not_possible")
        if customer_moves(opened) >= CUSTOMER_MOVES:
            raise RuleRefused(
                f"the pickup was moved {CUSTOMER_MOVES} times online already", code="reschedule.customer_limit"
            )
        if local_date not in {slot.local_date for slot in self.offered_slots(opened)}:
            raise RuleRefused("that day is not an offered pickup slot", code="reschedule.slot_not_offered")
        repair, _ = await self._repairs.reschedule(
            opened.repair.id, Reschedule(preferred_date=local_date), source, Actor.CUSTOMER
        )
        return repair
