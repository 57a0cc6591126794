"""Property: carrier events of one leg, in any order and with duplicates, end in the same journey.

Each example uses a real SQLite store holding two repairs: one is fed the distinct events once, oldest first;
the other a permutation of the same events with repeats, in calls of varying size, some pushed and some
polled. Both must end with the same journey state, leg status, open flags and stored chain of events.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers import TrackingEvent, TrackingStatus
from carriers.testing import EXAMPLE_START
from logistics.domain.journey import JourneyState, LegDirection, LegStatus
from logistics.services.tracking import Tracking
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from tests.support.clock import ManualClock
from tests.tracking.tracking_builders import build_repair, event

NUMBER = "TN0001"
STATUSES = (
    TrackingStatus.LABEL_CREATED,
    TrackingStatus.DROPPED_OFF,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.EXCEPTION,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.AWAITING_COLLECTION,
    TrackingStatus.DELIVERED,
    TrackingStatus.UNKNOWN,
    TrackingStatus.RETURNED_TO_SENDER,
)

Calls = list[list[TrackingEvent]]


class Outcome(NamedTuple):
    state: JourneyState
    leg_status: LegStatus
    open_flags: list[tuple[str, LegDirection | None]]
    chain: list[tuple[str, datetime, str, str, LegDirection]]


@st.composite
def leg_events(draw: st.DrawFn) -> list[TrackingEvent]:
    # Few distinct minutes, so events that share the carrier's timestamp are common.
    raw = draw(st.lists(st.tuples(st.sampled_from(STATUSES), st.integers(0, 12)), min_size=1, max_size=9))
    return [
        event(NUMBER, f"ev{i:02d}", EXAMPLE_START + timedelta(minutes=m), status) for i, (status, m) in enumerate(raw)
    ]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[TrackingEvent], Calls]:
    events = draw(leg_events())
    repeats = draw(st.lists(st.sampled_from(events), max_size=6))
    arrival = draw(st.permutations(events + repeats))
    calls: Calls = []
    while arrival:
        size = draw(st.integers(1, len(arrival)))
        calls.append(arrival[:size])
        arrival = arrival[size:]
    return events, calls


def renumbered(calls: Calls, number: str) -> Calls:
    return [[e.model_copy(update={"tracking_number": number}) for e in call] for call in calls]


async def _outcomes(path: Path, feeds: dict[str, Calls]) -> dict[str, Outcome]:
    """Feed each repair its calls; return each repair's state, leg status, open flags and event chain."""
    database = await Database.open(path)
    try:
        store = SqliteStore(database)
        async with store.transaction() as tx:
            for repair_id in feeds:
                await tx.add_repair(build_repair(repair_id, EXAMPLE_START, tracking_number=f"TN-{repair_id}"))
        tracking = Tracking(store, ManualClock(EXAMPLE_START + timedelta(days=1)))
        for repair_id, calls in feeds.items():
            for i, call in enumerate(renumbered(calls, f"TN-{repair_id}")):
                result = await tracking.ingest("line", call, "push" if i % 2 == 0 else "poll")
                assert result.unknown == []
        outcomes: dict[str, Outcome] = {}
        reader = store.reader()
        for repair_id in feeds:
            repair = await reader.get_repair(repair_id)
            assert repair is not None
            chain = [
                (e.event_id, e.occurred_at, e.status, e.raw_code, e.leg) for e in await reader.carrier_events(repair_id)
            ]
            open_flags = sorted({(f.code, f.leg) for f in repair.flags if f.cleared_at is None})
            outcomes[repair_id] = Outcome(repair.state, repair.inbound.status, open_flags, chain)
        return outcomes
    finally:
        await database.close()


async def outcomes(feeds: dict[str, Calls]) -> dict[str, Outcome]:
    with tempfile.TemporaryDirectory() as tmp:
        return await _outcomes(Path(tmp) / "logistics.db", feeds)


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
async def test_any_arrival_order_ends_in_the_same_journey(drawn: tuple[list[TrackingEvent], Calls]) -> None:
    events, calls = drawn
    found = await outcomes({"in_order": [sorted(events, key=lambda e: e.occurred_at)], "shuffled": calls})
    assert found["shuffled"] == found["in_order"]
    assert len(found["in_order"].chain) == len(events)  # every distinct event stored exactly once


async def test_a_late_in_transit_never_moves_a_delivered_leg_back() -> None:
    at = EXAMPLE_START
    calls = [
        [event(NUMBER, "d", at + timedelta(hours=5), TrackingStatus.DELIVERED)],
        [event(NUMBER, "t", at + timedelta(hours=1), TrackingStatus.IN_TRANSIT)],
    ]
    state, status, flags, chain = (await outcomes({"late": calls}))["late"]
    assert (state, status, flags) == (JourneyState.IN_TRANSIT_TO_CENTRE, "delivered", [])
    assert [c[0] for c in chain] == ["t", "d"]


async def test_events_sharing_a_timestamp_end_the_same_whatever_their_order() -> None:
    at = EXAMPLE_START + timedelta(hours=3)
    scan = event(NUMBER, "a-scan", at, TrackingStatus.IN_TRANSIT)
    problem = event(NUMBER, "b-problem", at, TrackingStatus.EXCEPTION)
    found = await outcomes({"scan_first": [[scan], [problem]], "problem_first": [[problem], [scan]]})
    assert found["scan_first"] == found["problem_first"]


async def test_a_return_reported_first_still_puts_the_device_with_the_carrier() -> None:
    moving = event(NUMBER, "t", EXAMPLE_START + timedelta(hours=1), TrackingStatus.IN_TRANSIT)
    returned = event(NUMBER, "r", EXAMPLE_START + timedelta(hours=9), TrackingStatus.RETURNED_TO_SENDER)
    found = await outcomes({"in_order": [[moving, returned]], "return_first": [[returned], [moving]]})
    assert found["return_first"][0] == found["in_order"][0] == JourneyState.IN_TRANSIT_TO_CENTRE


async def test_a_newer_problem_of_another_kind_replaces_the_older_flag_in_any_order() -> None:
    returned = event(NUMBER, "ev01", EXAMPLE_START + timedelta(minutes=1), TrackingStatus.RETURNED_TO_SENDER)
    problem = event(NUMBER, "ev02", EXAMPLE_START + timedelta(minutes=2), TrackingStatus.EXCEPTION)
    found = await outcomes({"in_order": [[returned], [problem]], "problem_first": [[problem], [returned]]})
    assert found["problem_first"] == found["in_order"]
    assert found["in_order"].open_flags == [("carrier.exception", LegDirection.INBOUND)]
