"""Which history entries the case system is told about, and the notification each becomes.

Notifications are written in the same transaction as the change they report (a transactional outbox), with
a per-repair sequence number so the receiver can order and deduplicate them. Delivery is the job of
``logistics.services.webhook_delivery``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from logistics.domain.model import Change, Repair
from logistics.services.ports import HistoryEntry, Notification, Transaction

NOTIFIED_KINDS: dict[str, str] = {
    "created": "repair.created",
    "state_changed": "repair.state_changed",
    "discrepancy": "repair.discrepancy",
    "flag_raised": "repair.exception",
    "booking": "repair.booked",
    "outcome": "repair.dispatched",
    "rescheduled": "repair.rescheduled",
    "turnaround": "repair.turnaround_changed",
}


async def notify(tx: Transaction, repair: Repair, entries: list[HistoryEntry], now: datetime) -> int:
    """Queue one notification per notified entry; returns how many were queued."""
    seq = None
    queued = 0
    for entry in entries:
        kind = NOTIFIED_KINDS.get(entry.change.kind)
        if kind is None:
            continue
        if seq is None:
            seq = await tx.next_notification_seq(repair.id)
        change = entry.change
        payload = {
            "type": kind,
            "repair_id": repair.id,
            "case_id": repair.case_id,
            "centre_id": repair.centre_id,
            "sequence": seq,
            "history_seq": entry.seq,
            "occurred_at": change.occurred_at.isoformat(),
            "actor": change.actor.value,
            "source": change.source,
            "state": repair.state.value,
            "turnaround_status": repair.turnaround_status,
            "leg": change.leg.value if change.leg else None,
            "from_state": change.from_state.value if change.from_state else None,
            "to_state": change.to_state.value if change.to_state else None,
            "leg_status": change.status.value if change.status else None,
            "details": change.details,
        }
        await tx.add_notification(
            Notification(
                id=f"msg_{repair.id}_{seq}",
                repair_id=repair.id,
                seq=seq,
                type=kind,
                payload=payload,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
        seq += 1
        queued += 1
    return queued


async def record(tx: Transaction, repair: Repair, changes: Sequence[Change], now: datetime) -> list[HistoryEntry]:
    """Append changes to the history and queue their notifications, in the caller's transaction."""
    entries = await tx.append_history(repair.id, changes, now)
    await notify(tx, repair, entries, now)
    return entries
