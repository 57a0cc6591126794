"""Outbox records for the store contract tests: a pending booking intent and a queued notification."""

from __future__ import annotations

from datetime import datetime

from logistics.domain.journey import LegDirection
from logistics.services.ports import BookingIntent, Notification


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
