"""Which history entries the case system is told about, and the notification each becomes.

Notifications are written in the same transaction as the change they report (a transactional outbox), with
a per-repair sequence number so the receiver can order and deduplicate them. Delivery is the job of
``logistics.services.webhook_delivery``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import JsonValue

from logistics.domain.journey import Actor, JourneyState, state_at
from logistics.domain.model import Change, Repair
from logistics.services.ports import HistoryEntry, Notification, Transaction

NOTIFIED_KINDS: dict[str, str] = {
    "created": "repair.created",
    "state_changed": "repair.state_changed",
    "discrepancy": "repair.discrepancy",
    "flag_raised": "repair.exception",
    "flag_cleared": "repair.exception_cleared",
    "leg_status": "repair.leg_status_changed",
    "booking": "repair.booked",
    "outcome": "repair.dispatched",
    "rescheduled": "repair.rescheduled",
    "turnaround": "repair.turnaround_changed",
}


def notified_kind(change: Change) -> str | None:
    """The notification type a history entry becomes, if the case system is told about it.

    A leg's status is notified when a carrier reports it; the service's own leg statuses (booked, label
    created, rescheduled) have notifications of their own.
    """
    if change.kind == "leg_status" and change.actor is not Actor.CARRIER:
        return None
    return NOTIFIED_KINDS.get(change.kind)


def state_after(repair: Repair, change: Change) -> JourneyState:
    """The journey state right after ``change``, by the time it happened (not the state the repair has now)."""
    if change.to_state is not None:
        return change.to_state
    return state_at(repair.state_since, change.occurred_at, repair.state)


def _payload(kind: str, repair: Repair, entry: HistoryEntry, seq: int) -> dict[str, JsonValue]:
    change = entry.change
    return {
        "type": kind,
        "repair_id": repair.id,
        "case_id": repair.case_id,
        "centre_id": repair.centre_id,
        "sequence": seq,
        "history_seq": entry.seq,
        "occurred_at": change.occurred_at.isoformat(),
        "actor": change.actor.value,
        "source": change.source,
        "state": state_after(repair, change).value,
        "turnaround_status": repair.turnaround_status,
        "leg": change.leg.value if change.leg else None,
        "from_state": change.from_state.value if change.from_state else None,
        "to_state": change.to_state.value if change.to_state else None,
        "leg_status": change.status.value if change.status else None,
        "details": change.details,
    }


async def record_all(
    tx: Transaction, batches: Sequence[tuple[Repair, Sequence[Change]]], now: datetime
) -> dict[str, list[HistoryEntry]]:
    """Append the changes of many repairs to their histories and queue their notifications, in the caller's
    transaction, with a few statements whatever the number of repairs."""
    entries = await tx.append_histories([(repair.id, changes) for repair, changes in batches], now)
    notified = {
        repair.id: [(kind, entry) for entry in entries.get(repair.id, []) if (kind := notified_kind(entry.change))]
        for repair, _ in batches
    }
    ids = [repair_id for repair_id, items in notified.items() if items]
    if not ids:
        return entries
    next_seq = await tx.next_notification_seqs(ids)
    notifications = []
    for repair, _ in batches:
        for kind, entry in notified.get(repair.id, []):
            seq = next_seq[repair.id]
            next_seq[repair.id] = seq + 1
            notifications.append(
                Notification(
                    id=f"msg_{repair.id}_{seq}",
                    repair_id=repair.id,
                    seq=seq,
                    type=kind,
                    payload=_payload(kind, repair, entry, seq),
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
    await tx.add_notifications(notifications)
    return entries


async def record(tx: Transaction, repair: Repair, changes: Sequence[Change], now: datetime) -> list[HistoryEntry]:
    """Append changes to the history and queue their notifications, in the caller's transaction."""
    return (await record_all(tx, [(repair, changes)], now)).get(repair.id, [])
