"""Records for the store's tests: repairs added in one unit, a history change, a pending booking intent and a
queued notification."""

from __future__ import annotations

from datetime import datetime, timedelta

from carriers.testing import EXAMPLE_START
from logistics.domain.journey import Actor, LegDirection
from logistics.domain.model import Change
from logistics.services.ports import BookingIntent, Notification, Store
from tests.tracking.tracking_builders import build_repair

NOW = EXAMPLE_START
LEASE = timedelta(minutes=2)


def change(at: datetime, kind: str = "state_changed") -> Change:
    return Change(kind=kind, occurred_at=at, actor=Actor.SERVICE, source="test")


async def add_repairs(store: Store, *ids: str, tracking: bool = False) -> None:
    """Repairs ``ids`` added in one unit, each with origin ``origin-<id>`` (and tracking number ``T-<id>``)."""
    async with store.transaction() as tx:
        for repair_id in ids:
            number = f"T-{repair_id}" if tracking else None
            await tx.add_repair(build_repair(repair_id, NOW, tracking_number=number), origin=f"origin-{repair_id}")


def pending_intent(reference: str, repair_id: str, due: datetime, **changes: object) -> BookingIntent:
    intent = BookingIntent(
        reference=reference,
        repair_id=repair_id,
        leg=LegDirection.INBOUND,
        operation="create_shipment",
        carrier="line",
        request={"reference": reference, "at": due.isoformat()},
        status="pending",
        attempts=0,
        next_attempt_at=due,
        last_error=None,
        result=None,
        created_at=due,
    )
    return BookingIntent(**{**intent.__dict__, **changes})


def queued_notification(repair_id: str, seq: int, due: datetime) -> Notification:
    return Notification(
        id=f"msg_{repair_id}_{seq}",
        repair_id=repair_id,
        seq=seq,
        type="repair.updated",
        payload={"seq": seq},
        created_at=due,
        attempts=0,
        next_attempt_at=due,
    )
