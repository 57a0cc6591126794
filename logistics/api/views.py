"""What the API answers: JSON views of repairs, legs, history and decisions (documented in openapi.yaml)."""

from __future__ import annotations

from typing import Any

from logistics.domain.journey import LegDirection, custodian, state_at
from logistics.domain.model import Leg, Repair
from logistics.domain.routing import RoutingDecision
from logistics.services.ports import HistoryEntry, StoredCarrierEvent


def leg_view(repair: Repair, leg: Leg) -> dict[str, Any]:
    return {
        "direction": leg.direction.value,
        "method": leg.method.value,
        "carrier": leg.carrier,
        "status": leg.status.value,
        "status_at": leg.status_at.isoformat() if leg.status_at else None,
        "tracking_number": leg.tracking_number,
        "routing_code": leg.routing_code,
        "pickup": leg.pickup.model_dump(mode="json") if leg.pickup else None,
        "pickup_confirmation": leg.pickup_confirmation,
        # A failure for good sets last_error until a retry books the leg: a pickup that failed after its
        # shipment was booked is a failed booking too.
        "booking": "failed" if leg.last_error else ("pending" if leg.status.value == "booking_pending" else "booked"),
        "last_error": leg.last_error,
        "label_path": f"/v1/repairs/{repair.id}/labels/{leg.direction.value}" if leg.tracking_number else None,
    }


def repair_view(repair: Repair) -> dict[str, Any]:
    return {
        "id": repair.id,
        "case_id": repair.case_id,
        "centre_id": repair.centre_id,
        "region_id": repair.region_id,
        "state": repair.state.value,
        "custodian": custodian(repair.state).value,
        "turnaround_status": repair.turnaround_status,
        "language": repair.language,
        "device": repair.device.model_dump(mode="json"),
        "site": repair.site.model_dump(mode="json"),
        "inbound": leg_view(repair, repair.inbound),
        "outbound": leg_view(repair, repair.outbound) if repair.outbound else None,
        "flags": [flag.model_dump(mode="json") for flag in repair.flags],
        "outcome": repair.outcome,
        "replacement_serial": repair.replacement_serial,
        "created_at": repair.created_at.isoformat(),
        "updated_at": repair.updated_at.isoformat(),
    }


def decision_view(decision: RoutingDecision) -> dict[str, Any]:
    return decision.model_dump(mode="json")


def history_view(entry: HistoryEntry) -> dict[str, Any]:
    change = entry.change
    return {
        "seq": entry.seq,
        "kind": change.kind,
        "occurred_at": change.occurred_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "actor": change.actor.value,
        "source": change.source,
        "leg": change.leg.value if change.leg else None,
        "from_state": change.from_state.value if change.from_state else None,
        "to_state": change.to_state.value if change.to_state else None,
        "status": change.status.value if change.status else None,
        "details": change.details,
    }


def custody_view(
    repair: Repair,
    entries: list[HistoryEntry],
    events: list[StoredCarrierEvent],
    site_zone: str | None,
    centre_zone: str | None,
) -> list[dict[str, Any]]:
    """The chain of custody: every carrier scan and every state change, ordered by when it happened.

    Each row's holder is the one the repair's journey names at that time (``state_at``), so an inbound
    "delivered" scan leaves the device with the carrier until the centre scans it in, as the repair says.
    """
    from zoneinfo import ZoneInfo

    def local(at: Any, leg: str | None, holder: str) -> str | None:
        zone = centre_zone if holder == "repair_centre" else site_zone
        if leg == LegDirection.OUTBOUND.value and holder == "carrier":
            zone = site_zone
        return at.astimezone(ZoneInfo(zone)).isoformat() if zone else None

    rows: list[dict[str, Any]] = []
    for event in events:
        # The holder the journey itself says, at the scan's time: the view and the repair never disagree.
        holder = custodian(state_at(repair.state_since, event.occurred_at, repair.state)).value
        rows.append(
            {
                "at": event.occurred_at.isoformat(),
                "local_time": local(event.occurred_at, event.leg.value, holder),
                "holder": holder,
                "leg": event.leg.value,
                "what": event.status,
                "where": event.location,
                "source": f"{event.carrier}:{event.event_id}",
                "raw_code": event.raw_code,
                "description": event.raw_description,
            }
        )
    for entry in entries:
        change = entry.change
        if change.kind not in ("created", "state_changed") or change.to_state is None:
            continue
        if change.actor.value == "carrier":
            continue  # already listed as the carrier scan that caused it
        holder = custodian(change.to_state).value
        rows.append(
            {
                "at": change.occurred_at.isoformat(),
                "local_time": local(change.occurred_at, None, holder),
                "holder": holder,
                "leg": change.leg.value if change.leg else None,
                "what": change.to_state.value,
                "where": repair.centre_id if holder == "repair_centre" else None,
                "source": change.source,
                "raw_code": None,
                "description": None,
            }
        )
    rows.sort(key=lambda row: (row["at"], row["source"]))
    return rows
