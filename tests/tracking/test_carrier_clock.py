"""Property: a whole journey follows the carrier's clock, not the order in which its events arrive.

Each example builds two repairs in one real SQLite store. The first hears its carrier events in the carrier's
own order, one at a time: the inbound leg's events, then the centre's receipt and dispatch, then the outbound
leg's. The second hears the same events shuffled, repeated and batched; some inbound events arrive only after
the centre has scanned the device in and dispatched it (late arrivals), and the outbound ones in any order.
Both must end with the same state, the same state path, the same history (once the ``redated`` corrections
are applied and the ``late`` / ``inferred`` marks set aside), the same notifications per type and the same
turnaround status.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers import TrackingEvent, TrackingStatus
from carriers.testing import EXAMPLE_START
from logistics.api.views import custody_view
from logistics.domain.journey import JourneyState, LegDirection, LegMethod, LegStatus, custodian
from logistics.domain.model import Leg, ReceiptCheck
from logistics.domain.routing import TurnaroundTargets, calendar_for
from logistics.domain.turnaround import BusinessDays, Segment
from logistics.services.notifications import record
from logistics.services.ports import HistoryEntry, Store, StoredCarrierEvent
from logistics.services.tracking import Tracking
from logistics.services.turnaround import TurnaroundWatch
from tests.support.clock import ManualClock
from tests.support.stores import LOCAL_STORES, open_store
from tests.tracking.tracking_builders import build_repair, event

PARIS = calendar_for("FR", None, "Europe/Paris")
TARGETS = TurnaroundTargets(inbound_business_days=1, at_centre_business_days=3, outbound_business_days=2)
H = timedelta(hours=1)
T0 = EXAMPLE_START  # Monday 3 March 2025, 09:00 in Paris

INBOUND = (
    ("i1", 0 * H, TrackingStatus.DROPPED_OFF),
    ("i2", 3 * H, TrackingStatus.IN_TRANSIT),
    ("i3", 20 * H, TrackingStatus.EXCEPTION),
    ("i4", 26 * H, TrackingStatus.IN_TRANSIT),
    ("i5", 30 * H, TrackingStatus.OUT_FOR_DELIVERY),
    ("i6", 32 * H, TrackingStatus.DELIVERED),
)
RECEIPT_AT = T0 + 34 * H
DISPATCH_AT = T0 + 50 * H
OUTBOUND = (
    ("o1", 52 * H, TrackingStatus.PICKED_UP),
    ("o2", 56 * H, TrackingStatus.IN_TRANSIT),
    ("o3", 70 * H, TrackingStatus.EXCEPTION),
    ("o4", 72 * H, TrackingStatus.EXCEPTION),
    ("o5", 80 * H, TrackingStatus.OUT_FOR_DELIVERY),
    ("o6", 98 * H, TrackingStatus.DELIVERED),
)
END = T0 + 120 * H


class Feed(NamedTuple):
    inbound: list[str]  # the events of the journey, by id
    outbound: list[str]
    before_receipt: list[list[str]]  # calls, each a list of event ids (repeats allowed)
    after_dispatch: list[list[str]]  # late inbound and all outbound calls, interleaved


class Outcome(NamedTuple):
    state: JourneyState
    state_since: dict[str, datetime]
    legs: tuple[LegStatus, LegStatus | None]
    flags: list[tuple[str, LegDirection | None, datetime, datetime | None]]
    history: Counter[tuple[Any, ...]]
    path: list[JourneyState]
    notifications: Counter[str]
    notified_states: Counter[tuple[str, str]]
    turnaround: str


def _calls(draw: st.DrawFn, ids: list[str]) -> list[list[str]]:
    calls: list[list[str]] = []
    while ids:
        size = draw(st.integers(1, len(ids)))
        calls.append(ids[:size])
        ids = ids[size:]
    return calls


@st.composite
def feeds(draw: st.DrawFn) -> Feed:
    inbound = [i for i, _, _ in INBOUND if draw(st.booleans())] or ["i2"]
    outbound = [i for i, _, _ in OUTBOUND if draw(st.booleans())] or ["o6"]
    arriving = draw(st.permutations(inbound + draw(st.lists(st.sampled_from(inbound), max_size=3))))
    early = draw(st.integers(0, len(arriving)))
    late_inbound = arriving[early:]
    outbound_arrivals = draw(st.permutations(outbound + draw(st.lists(st.sampled_from(outbound), max_size=3))))
    after = draw(st.permutations(late_inbound + outbound_arrivals))
    return Feed(inbound, outbound, _calls(draw, arriving[:early]), _calls(draw, after))


def _events(number: str, ids: list[str]) -> list[TrackingEvent]:
    timeline = {i: (T0 + offset, status) for i, offset, status in INBOUND + OUTBOUND}
    return [event(f"{number}-{i[0]}", i, timeline[i][0], timeline[i][1]) for i in ids]


def _calendar(_repair: object, _segment: Segment) -> BusinessDays:
    return PARIS


async def _receive_and_dispatch(store: Store, repair_id: str) -> None:
    async with store.transaction() as tx:
        repair = await tx.get_repair(repair_id)
        assert repair is not None
        changes = repair.receive(RECEIPT_AT, f"scan-{repair_id}", ReceiptCheck(), (), False)
        outbound = Leg(
            direction=LegDirection.OUTBOUND,
            method=LegMethod.CENTRE_DISPATCH,
            carrier="line",
            booking_reference=f"{repair_id}-out",
            tracking_number=f"TN-{repair_id}-o",
        )
        changes += repair.dispatch(DISPATCH_AT, f"dispatch-{repair_id}", "repaired", None, outbound)
        await tx.save_repair(repair)
        await record(tx, repair, changes, DISPATCH_AT)


def normalised_history(entries: list[HistoryEntry]) -> Counter[tuple[Any, ...]]:
    """The history with each ``redated`` correction applied to the entry it corrects, marks set aside."""
    rows: list[list[Any]] = []
    for entry in entries:
        c = entry.change
        if c.kind == "ignored_event":
            continue
        if c.kind == "redated":
            d = c.details
            for row in rows:
                kind, leg, status, to_state, at, code = row
                if kind != d["of"] or at.isoformat() != d["was"]:
                    continue
                same = (
                    to_state == d.get("state")
                    if kind == "state_changed"
                    else (status == d.get("status") and leg == c.leg)
                    if kind == "leg_status"
                    else (code == d.get("code") and leg == c.leg)
                )
                if same:
                    row[4] = c.occurred_at
                    if kind == "flag_cleared":  # cleared by the earlier scan now
                        row[2] = c.status.value if c.status else None
            continue
        status = c.status.value if c.status else None
        to_state = c.to_state.value if c.to_state else None
        rows.append([c.kind, c.leg, status, to_state, c.occurred_at, c.details.get("code")])
    return Counter(tuple(row) for row in rows)


async def _outcome(store: Store, tracking: Tracking, repair_id: str, feed: Feed, *, in_order: bool) -> Outcome:
    number = f"TN-{repair_id}"
    if in_order:
        for i in feed.inbound:
            await tracking.ingest("line", _events(number, [i]), "push")
        await _receive_and_dispatch(store, repair_id)
        for i in feed.outbound:
            await tracking.ingest("line", _events(number, [i]), "poll")
    else:
        for n, call in enumerate(feed.before_receipt):
            await tracking.ingest("line", _events(number, call), "push" if n % 2 else "poll")
        await _receive_and_dispatch(store, repair_id)
        for n, call in enumerate(feed.after_dispatch):
            result = await tracking.ingest("line", _events(number, call), "push" if n % 2 else "poll")
            assert result.unknown == []
    reader = store.reader()
    repair = await reader.get_repair(repair_id)
    assert repair is not None
    entries = await reader.history(repair_id)
    moves = sorted(
        (e.change for e in entries if e.change.kind == "state_changed" and e.change.to_state is not None),
        key=lambda c: (repair.state_since[c.to_state.value] if c.to_state else c.occurred_at, c.occurred_at),
    )
    queued = [n for n in await reader.due_notifications(END + timedelta(days=99), 10_000) if n.repair_id == repair_id]
    notified_states = Counter(
        (n.type, str(n.payload["state"]))
        for n in queued
        if n.type in ("repair.state_changed", "repair.leg_status_changed")
    )
    return Outcome(
        state=repair.state,
        state_since=dict(repair.state_since),
        legs=(repair.inbound.status, repair.outbound.status if repair.outbound else None),
        flags=sorted((f.code, f.leg, f.raised_at, f.cleared_at) for f in repair.flags),
        history=normalised_history(entries),
        path=[c.to_state for c in moves if c.to_state is not None],
        notifications=Counter(n.type for n in queued),
        notified_states=notified_states,
        turnaround=repair.turnaround_status,
    )


async def outcomes(feed: Feed, kind: str) -> tuple[Outcome, Outcome]:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(kind, Path(tmp)) as store:
            async with store.transaction() as tx:
                for repair_id in ("ordered", "shuffled"):
                    repair = build_repair(
                        repair_id,
                        T0 - 2 * H,
                        tracking_number=f"TN-{repair_id}-i",
                        turnaround=TARGETS,
                    )
                    await tx.add_repair(repair)
            clock = ManualClock(END)
            tracking = Tracking(store, clock)
            ordered = await _outcome(store, tracking, "ordered", feed, in_order=True)
            shuffled = await _outcome(store, tracking, "shuffled", feed, in_order=False)
            watch = TurnaroundWatch(store, clock, _calendar)
            await watch.evaluate()
            reader = store.reader()
            turnaround = {}
            for repair_id in ("ordered", "shuffled"):
                found = await reader.get_repair(repair_id)
                assert found is not None
                turnaround[repair_id] = found.turnaround_status
            return (
                ordered._replace(turnaround=turnaround["ordered"]),
                shuffled._replace(turnaround=turnaround["shuffled"]),
            )


@pytest.mark.parametrize("kind", LOCAL_STORES)
@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds())
async def test_any_arrival_order_gives_the_journey_of_the_carriers_order(kind: str, feed: Feed) -> None:
    ordered, shuffled = await outcomes(feed, kind)
    assert shuffled.state == ordered.state
    assert shuffled.path == ordered.path
    assert shuffled.state_since == ordered.state_since
    assert shuffled.legs == ordered.legs
    assert shuffled.flags == ordered.flags
    assert shuffled.history == ordered.history
    assert shuffled.notifications == ordered.notifications
    assert shuffled.notified_states == ordered.notified_states
    assert shuffled.turnaround == ordered.turnaround


@pytest.mark.parametrize("kind", LOCAL_STORES)
async def test_the_whole_journey_in_reverse_order_keeps_every_step(kind: str) -> None:
    ids_in = [i for i, _, _ in INBOUND]
    ids_out = [i for i, _, _ in OUTBOUND]
    feed = Feed(ids_in, ids_out, [], [[i] for i in reversed(ids_in + ids_out)])
    ordered, shuffled = await outcomes(feed, kind)
    assert shuffled == ordered
    assert ordered.path == [
        JourneyState.IN_TRANSIT_TO_CENTRE,
        JourneyState.AT_CENTRE,
        JourneyState.IN_TRANSIT_TO_CUSTOMER,
        JourneyState.DELIVERED,
    ]
    assert ordered.notifications["repair.exception"] == 2  # one per run of exceptions, per leg
    assert ordered.notifications["repair.exception_cleared"] == 2
    assert ordered.notifications["repair.leg_status_changed"] == 8


async def _add_journeys(store: Store) -> None:
    async with store.transaction() as tx:
        for repair_id in ("a", "b", "c"):
            repair = build_repair(repair_id, T0 - 2 * H, tracking_number=f"TN-{repair_id}-i", turnaround=TARGETS)
            await tx.add_repair(repair)


async def test_a_late_pickup_scan_breaches_the_inbound_target_as_when_both_arrive_together(store: Store) -> None:
    now = T0 + 72 * H  # Thursday 09:00 in Paris: three business days after the drop-off
    drop_off = ("i1", T0, TrackingStatus.DROPPED_OFF)
    moving = ("i2", now - H, TrackingStatus.IN_TRANSIT)
    await _add_journeys(store)
    clock = ManualClock(now)
    tracking = Tracking(store, clock)

    def scans(repair_id: str, *drawn: tuple[str, datetime, TrackingStatus]) -> list[TrackingEvent]:
        return [event(f"TN-{repair_id}-i", i, at, status) for i, at, status in drawn]

    await tracking.ingest("line", scans("a", moving), "push")  # a: the later scan first
    await tracking.ingest("line", scans("a", drop_off), "push")
    await tracking.ingest("line", scans("b", drop_off, moving), "poll")  # b: both together
    await tracking.ingest("line", scans("c", moving), "push")  # c: the drop-off scan never came
    await TurnaroundWatch(store, clock, _calendar).evaluate()
    reader = store.reader()
    status = {}
    for repair_id in ("a", "b", "c"):
        repair = await reader.get_repair(repair_id)
        assert repair is not None
        status[repair_id] = repair.turnaround_status
    assert status == {"a": "breached", "b": "breached", "c": "on_track"}


async def test_outbound_delivered_before_picked_up_still_notifies_the_transit_step(store: Store) -> None:
    await _add_journeys(store)
    tracking = Tracking(store, ManualClock(END))
    await _receive_and_dispatch(store, "a")
    delivered = event("TN-a-o", "o6", T0 + 98 * H, TrackingStatus.DELIVERED)
    picked_up = event("TN-a-o", "o1", T0 + 52 * H, TrackingStatus.PICKED_UP)
    await tracking.ingest("line", [delivered], "push")
    await tracking.ingest("line", [picked_up], "push")
    queued = await store.reader().due_notifications(END, 100)
    told = [
        (n.type, n.payload["to_state"] or n.payload["leg_status"], n.payload["state"], n.payload["details"])
        for n in queued
        if n.repair_id == "a" and n.type in ("repair.state_changed", "repair.leg_status_changed")
    ]
    assert [row[:3] for row in told] == [
        ("repair.state_changed", "at_centre", "at_centre"),
        ("repair.leg_status_changed", "delivered", "delivered"),
        ("repair.state_changed", "in_transit_to_customer", "in_transit_to_customer"),
        ("repair.state_changed", "delivered", "delivered"),
        ("repair.leg_status_changed", "picked_up", "in_transit_to_customer"),
    ]
    details = told[2][3]
    assert isinstance(details, dict) and details["inferred"] is True
    repair = await store.reader().get_repair("a")
    assert repair is not None
    assert repair.state_since["in_transit_to_customer"] == T0 + 52 * H  # the pickup scan's own time


async def test_the_custody_view_agrees_with_the_repair_on_who_holds_the_device(store: Store) -> None:
    await _add_journeys(store)
    tracking = Tracking(store, ManualClock(END))
    scans = [event("TN-a-i", i, T0 + offset, status) for i, offset, status in INBOUND if i in ("i2", "i6")]
    await tracking.ingest("line", scans, "push")
    reader = store.reader()

    async def holders() -> tuple[list[str], str]:
        repair = await reader.get_repair("a")
        assert repair is not None
        rows = custody_view(repair, await reader.history("a"), await reader.carrier_events("a"), None, None)
        return [row["holder"] for row in rows], custodian(repair.state).value

    # Delivered to the centre by the carrier, not yet scanned in: still the carrier's.
    assert await holders() == (["carrier", "carrier"], "carrier")
    await _receive_and_dispatch(store, "a")
    rows, holder = await holders()
    assert rows[-1] == holder == "repair_centre"


async def test_a_leg_recorded_before_steps_were_kept_learns_them_silently_from_its_stored_scans(store: Store) -> None:
    since = {"awaiting_drop_off": T0 - 2 * H, "in_transit_to_centre": T0 + 3 * H}
    older = build_repair(
        "old",
        T0 - 2 * H,
        tracking_number="TN-old",
        state=JourneyState.IN_TRANSIT_TO_CENTRE,
        leg_status=LegStatus.IN_TRANSIT,
        state_since=since,
    )
    scans = [event("TN-old", i, T0 + offset, status) for i, offset, status in INBOUND[:2]]
    async with store.transaction() as tx:
        await tx.add_repair(older)
        await tx.add_carrier_events(
            [
                StoredCarrierEvent(
                    "line",
                    e.tracking_number,
                    e.event_id,
                    "old",
                    LegDirection.INBOUND,
                    e.occurred_at,
                    e.status.value,
                    e.raw_code,
                    e.raw_description,
                    e.location,
                    T0 + 4 * H,
                    "push",
                )
                for e in scans
            ]
        )
    tracking = Tracking(store, ManualClock(END))
    await tracking.ingest("line", [event("TN-old", "i5", T0 + 30 * H, TrackingStatus.OUT_FOR_DELIVERY)], "poll")
    entries = await store.reader().history("old")
    assert [(e.change.kind, e.change.status) for e in entries] == [("leg_status", LegStatus.OUT_FOR_DELIVERY)]
    repair = await store.reader().get_repair("old")
    assert repair is not None
    # The drop-off scan, learnt from the stored chain, dates the transit it proves.
    assert repair.state_since["in_transit_to_centre"] == T0
