"""The journey state machine and the repair aggregate, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logistics.domain.journey import (
    JourneyState,
    LegDirection,
    LegMethod,
    LegStatus,
    can_cancel,
    state_after_carrier_status,
    state_after_receipt,
)
from logistics.domain.model import Change, DomainRuleError, Leg, ReceiptCheck, Repair
from logistics.domain.routing import Device, Entitlement, ProductLine, ServiceLevel, SiteAddress
from logistics.domain.timeline import Scan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def repair(method: LegMethod = LegMethod.COURIER_PICKUP) -> Repair:
    state = JourneyState.AWAITING_PICKUP if method is LegMethod.COURIER_PICKUP else JourneyState.AWAITING_DROP_OFF
    return Repair(
        id="rp_1",
        case_id="C-1",
        centre_id="fr-lyon",
        region_id="fr-idf",
        language="fr",
        site=SiteAddress(
            name="Camille Martin",
            street_lines=("14 rue Oberkampf",),
            city="Paris",
            postal_code="75011",
            country="FR",
            phone="+33 1 00 00 00 00",
        ),
        device=Device(product_line=ProductLine.NOTEBOOK, model="EliteBook 840", serial_number="5CG1"),
        entitlement=Entitlement(
            service_level=ServiceLevel.PICKUP_AND_RETURN, country_of_purchase="FR", defective_media_retention=True
        ),
        state=state,
        inbound=Leg(
            direction=LegDirection.INBOUND,
            method=method,
            carrier="sim",
            booking_reference="rp_1-in",
            tracking_number="1Z1",
            status=LegStatus.LABEL_CREATED,
        ),
        created_at=T0,
        updated_at=T0,
    )


@pytest.mark.parametrize(
    ("state", "direction", "status", "expected"),
    [
        (
            JourneyState.AWAITING_PICKUP,
            LegDirection.INBOUND,
            LegStatus.PICKED_UP,
            JourneyState.IN_TRANSIT_TO_CENTRE,
        ),
        (
            JourneyState.AWAITING_DROP_OFF,
            LegDirection.INBOUND,
            LegStatus.DROPPED_OFF,
            JourneyState.IN_TRANSIT_TO_CENTRE,
        ),
        # The carrier's delivery at the centre is not a receipt: only the centre's scan is.
        (
            JourneyState.IN_TRANSIT_TO_CENTRE,
            LegDirection.INBOUND,
            LegStatus.DELIVERED,
            JourneyState.IN_TRANSIT_TO_CENTRE,
        ),
        (JourneyState.AT_CENTRE, LegDirection.INBOUND, LegStatus.IN_TRANSIT, JourneyState.AT_CENTRE),
        (
            JourneyState.AT_CENTRE,
            LegDirection.OUTBOUND,
            LegStatus.PICKED_UP,
            JourneyState.IN_TRANSIT_TO_CUSTOMER,
        ),
        (
            JourneyState.IN_TRANSIT_TO_CUSTOMER,
            LegDirection.OUTBOUND,
            LegStatus.DELIVERED,
            JourneyState.DELIVERED,
        ),
        (JourneyState.DELIVERED, LegDirection.OUTBOUND, LegStatus.IN_TRANSIT, JourneyState.DELIVERED),
        (JourneyState.CANCELLED, LegDirection.INBOUND, LegStatus.PICKED_UP, JourneyState.CANCELLED),
        (
            JourneyState.AWAITING_PICKUP,
            LegDirection.INBOUND,
            LegStatus.EXCEPTION,
            JourneyState.AWAITING_PICKUP,
        ),
    ],
)
def test_carrier_status_moves_forward_only(
    state: JourneyState, direction: LegDirection, status: LegStatus, expected: JourneyState
) -> None:
    assert state_after_carrier_status(state, direction, status) is expected


def test_receipt_and_cancel_rules() -> None:
    assert state_after_receipt(JourneyState.IN_TRANSIT_TO_CENTRE) is JourneyState.AT_CENTRE
    assert state_after_receipt(JourneyState.AWAITING_DROP_OFF) is JourneyState.AT_CENTRE  # missed scans
    assert state_after_receipt(JourneyState.AT_CENTRE) is None
    assert can_cancel(JourneyState.AWAITING_PICKUP)
    assert not can_cancel(JourneyState.IN_TRANSIT_TO_CENTRE)


def feed(r: Repair, seen: list[Scan], status: LegStatus, at: datetime, event_id: str, **details: str) -> list[Change]:
    """One carrier scan of the inbound leg, after those in ``seen`` (which it joins)."""
    scan = Scan(at=at, event_id=event_id, status=status, source=f"sim:{event_id}", details=dict(details))
    seen.append(scan)
    return r.follow_scans(LegDirection.INBOUND, list(seen), [scan])


def test_a_pickup_scan_arriving_after_in_transit_is_recorded_in_the_past_and_redates_the_state() -> None:
    r, seen = repair(), list[Scan]()
    feed(r, seen, LegStatus.IN_TRANSIT, T0 + timedelta(hours=2), "2")
    changes = feed(r, seen, LegStatus.PICKED_UP, T0 + timedelta(hours=1), "1")
    assert [(c.kind, c.details.get("late"), c.details.get("of")) for c in changes] == [
        ("leg_status", True, None),
        ("redated", None, "state_changed"),
    ]
    assert r.inbound.status is LegStatus.IN_TRANSIT and r.state is JourneyState.IN_TRANSIT_TO_CENTRE
    assert r.state_since[JourneyState.IN_TRANSIT_TO_CENTRE.value] == T0 + timedelta(hours=1)


def test_a_scan_dated_before_the_leg_existed_proves_nothing() -> None:
    r, seen = repair(), list[Scan]()
    feed(r, seen, LegStatus.IN_TRANSIT, T0 + timedelta(hours=2), "2")
    changes = feed(r, seen, LegStatus.PICKED_UP, T0 - timedelta(days=300), "1")
    assert [(c.kind, c.details["why"]) for c in changes] == [("ignored_event", "dated before the leg existed")]
    assert r.state_since[JourneyState.IN_TRANSIT_TO_CENTRE.value] == T0 + timedelta(hours=2)


def test_a_repeated_scan_teaches_nothing_and_is_recorded_as_ignored() -> None:
    r, seen = repair(), list[Scan]()
    feed(r, seen, LegStatus.IN_TRANSIT, T0, "1")
    assert [c.kind for c in feed(r, seen, LegStatus.IN_TRANSIT, T0 + timedelta(hours=1), "2")] == ["ignored_event"]


def test_exception_flag_open_until_the_next_scan_of_its_leg() -> None:
    r, seen = repair(), list[Scan]()
    feed(r, seen, LegStatus.EXCEPTION, T0, "x", description="damaged")
    assert [f.code for f in r.flags if f.cleared_at is None] == ["carrier.exception"]
    changes = feed(r, seen, LegStatus.IN_TRANSIT, T0 + timedelta(hours=1), "y")
    assert [f for f in r.flags if f.cleared_at is None] == []
    assert "flag_cleared" in [c.kind for c in changes]


def test_an_exception_arriving_after_a_later_scan_is_raised_and_cleared() -> None:
    r, seen = repair(), list[Scan]()
    feed(r, seen, LegStatus.IN_TRANSIT, T0 + timedelta(hours=1), "y")
    changes = feed(r, seen, LegStatus.EXCEPTION, T0, "x", description="damaged")
    assert [(c.kind, c.occurred_at) for c in changes] == [
        ("flag_raised", T0),
        ("flag_cleared", T0 + timedelta(hours=1)),
    ]


def test_outbound_delivered_before_picked_up_infers_the_transit_step() -> None:
    r = repair()
    r.receive(T0, "scan", ReceiptCheck(), (), False)
    out = Leg(direction=LegDirection.OUTBOUND, method=LegMethod.CENTRE_DISPATCH, carrier="sim", booking_reference="o")
    r.dispatch(T0, "d", "repaired", None, out)
    delivered = Scan(T0 + timedelta(days=2), "dl", LegStatus.DELIVERED, "sim:dl")
    changes = r.follow_scans(LegDirection.OUTBOUND, [delivered], [delivered])
    moves = [(c.to_state, c.occurred_at, c.details.get("inferred")) for c in changes if c.kind == "state_changed"]
    assert moves == [
        (JourneyState.IN_TRANSIT_TO_CUSTOMER, delivered.at, True),
        (JourneyState.DELIVERED, delivered.at, None),
    ]
    picked = Scan(T0 + timedelta(days=1), "pu", LegStatus.PICKED_UP, "sim:pu")
    r.follow_scans(LegDirection.OUTBOUND, [delivered, picked], [picked])
    assert r.state_since[JourneyState.IN_TRANSIT_TO_CUSTOMER.value] == picked.at
    assert r.state is JourneyState.DELIVERED


def test_cancel_refused_once_with_carrier() -> None:
    r = repair()
    feed(r, [], LegStatus.PICKED_UP, T0, "1")
    with pytest.raises(DomainRuleError) as refused:
        r.cancel(T0, "req", "customer changed their mind")
    assert refused.value.code == "repair.not_cancellable"


def test_receipt_discrepancy_with_defective_media_retention() -> None:
    r = repair()
    changes = r.receive(
        T0,
        "scan",
        ReceiptCheck(items_received=("ac_adapter",), drive_present=True),
        expected_items=("ac_adapter", "dock"),
        drive_must_be_absent=True,
    )
    assert r.state is JourneyState.AT_CENTRE
    discrepancy = next(c for c in changes if c.kind == "discrepancy")
    assert "missing items: dock" in discrepancy.details["problems"]
    assert any("Defective Media Retention" in p for p in discrepancy.details["problems"])


def test_dispatch_needs_the_device_and_a_serial_for_a_replacement() -> None:
    r = repair()
    out = Leg(
        direction=LegDirection.OUTBOUND,
        method=LegMethod.CENTRE_DISPATCH,
        carrier="sim",
        booking_reference="rp_1-out",
    )
    with pytest.raises(DomainRuleError):
        r.dispatch(T0, "d", "repaired", None, out)
    r.receive(T0, "scan", ReceiptCheck(), (), False)
    with pytest.raises(DomainRuleError) as refused:
        r.dispatch(T0, "d", "replaced", None, out)
    assert refused.value.code == "dispatch.replacement_serial_required"
    r.dispatch(T0, "d", "replaced", "NEW1", out)
    assert r.outbound is out and r.replacement_serial == "NEW1"


def test_the_receipts_note_and_the_self_test_result_are_kept_in_the_history() -> None:
    r = repair()
    (received,) = r.receive(T0, "scan", ReceiptCheck(items_received=(), note="seal broken"), (), False)
    assert received.details["note"] == "seal broken"
    out = Leg(direction=LegDirection.OUTBOUND, method=LegMethod.CENTRE_DISPATCH, carrier="sim", booking_reference="o")
    (outcome,) = r.dispatch(T0, "d", "repaired", None, out, self_test_passed=False)
    assert outcome.details["self_test_passed"] is False


def test_a_receipt_without_a_note_records_none() -> None:
    (received,) = repair().receive(T0, "scan", ReceiptCheck(), (), False)
    assert "note" not in received.details


@pytest.mark.parametrize(
    ("method", "scanned", "recorded"),
    [
        (LegMethod.COURIER_PICKUP, LegStatus.DROPPED_OFF, LegStatus.PICKED_UP),
        (LegMethod.COURIER_PICKUP, LegStatus.PICKED_UP, LegStatus.PICKED_UP),
        (LegMethod.CUSTOMER_DROP_OFF, LegStatus.PICKED_UP, LegStatus.DROPPED_OFF),
        (LegMethod.CUSTOMER_DROP_OFF, LegStatus.DROPPED_OFF, LegStatus.DROPPED_OFF),
    ],
)
def test_the_acceptance_scan_is_read_from_how_the_device_leaves(
    method: LegMethod, scanned: LegStatus, recorded: LegStatus
) -> None:
    # La Poste says "pris en charge" whether the postman took it from the letterbox or a post office did.
    r = repair(method)
    scan = Scan(at=T0 + timedelta(hours=1), event_id="1", status=scanned, source="colissimo:1")
    r.follow_scans(LegDirection.INBOUND, [scan], [scan])
    assert r.inbound.status is recorded
