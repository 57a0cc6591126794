"""Turnaround clocks: business days per segment, at risk and breached, one notification per transition."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from logistics.domain.journey import JourneyState
from logistics.domain.routing import TurnaroundTargets, calendar_for
from logistics.domain.turnaround import BusinessDays, Segment, TurnaroundStatus, read_turnaround
from logistics.services.ports import Store
from logistics.services.turnaround import TurnaroundWatch, site_and_centre
from tests.support.clock import ManualClock
from tests.tracking.tracking_builders import build_repair

TARGETS = TurnaroundTargets(
    inbound_business_days=2, at_centre_business_days=5, outbound_business_days=2, at_risk_ratio=0.8
)
PARIS = calendar_for("FR", None, "Europe/Paris")
BERLIN = calendar_for("DE", "BY", "Europe/Berlin")


def paris(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant given in Paris local time (March 2025: UTC+1 until the 30th)."""
    return datetime(2025, month, day, hour - 1, minute, tzinfo=UTC)


def calendars() -> dict[Segment, BusinessDays]:
    return {"inbound": PARIS, "at_centre": PARIS, "outbound": PARIS}


async def test_a_running_segment_goes_at_risk_then_breached_over_business_days() -> None:
    since = {JourneyState.AT_CENTRE.value: paris(3, 9)}  # Monday 3 March, 09:00
    status = [
        read_turnaround(TARGETS, since, now, calendars()).status
        for now in (paris(6, 8), paris(7, 9), paris(9, 23), paris(10, 9), paris(10, 9, 1))
    ]
    assert status == [
        TurnaroundStatus.ON_TRACK,  # Thursday: 2.96 of 5 days
        TurnaroundStatus.AT_RISK,  # Friday 09:00: 4.0 days, 80 %
        TurnaroundStatus.AT_RISK,  # Sunday night: the weekend does not count
        TurnaroundStatus.AT_RISK,  # Monday 09:00: exactly 5.0 is still within target
        TurnaroundStatus.BREACHED,
    ]


async def test_public_holidays_of_the_segments_calendar_do_not_count() -> None:
    # Inbound from Wednesday 30 April 09:00 to Friday 2 May 09:00: 1 May is a holiday in France.
    since = {JourneyState.IN_TRANSIT_TO_CENTRE.value: paris(30, 10, month=4)}
    reading = read_turnaround(TARGETS, since, paris(2, 10, month=5), calendars())
    inbound = reading.segment("inbound")
    assert inbound is not None
    assert inbound.used_business_days == 1.0
    assert reading.status is TurnaroundStatus.ON_TRACK  # 1 of 2 days used: 50 %


async def test_a_segment_that_made_its_target_is_no_longer_at_risk_but_a_breach_stays() -> None:
    made_it = {
        JourneyState.IN_TRANSIT_TO_CENTRE.value: paris(3, 9),
        JourneyState.AT_CENTRE.value: paris(4, 20),  # 1.46 of 2 days: at risk while running
    }
    assert read_turnaround(TARGETS, made_it, paris(5, 9), calendars()).status is TurnaroundStatus.ON_TRACK
    late = {**made_it, JourneyState.AT_CENTRE.value: paris(6, 12)}
    assert read_turnaround(TARGETS, late, paris(7, 9), calendars()).status is TurnaroundStatus.BREACHED


async def test_inbound_starts_with_the_carrier_not_while_waiting_for_pickup() -> None:
    waiting = {JourneyState.AWAITING_PICKUP.value: paris(3, 9)}
    reading = read_turnaround(TARGETS, waiting, paris(20, 9), calendars())
    assert reading.segments == ()
    assert reading.status is TurnaroundStatus.ON_TRACK


async def test_time_at_the_centre_is_read_in_the_centres_calendar() -> None:
    # Corpus Christi (19 June 2025) is a holiday in Bavaria but not in France.
    since = {JourneyState.AT_CENTRE.value: paris(16, 9, month=6) - timedelta(hours=1)}
    now = paris(21, 9, month=6) - timedelta(hours=1)
    in_paris = read_turnaround(TARGETS, since, now, calendars()).segment("at_centre")
    in_bavaria = read_turnaround(
        TARGETS, since, now, {"inbound": PARIS, "at_centre": BERLIN, "outbound": PARIS}
    ).segment("at_centre")
    assert in_paris is not None and in_bavaria is not None
    assert in_paris.used_business_days - in_bavaria.used_business_days == 1.0


async def test_a_device_kept_too_long_at_the_centre_notifies_once_per_transition(
    store: Store,
) -> None:
    clock = ManualClock(paris(3, 9))
    entered = clock.now()
    repair = build_repair(
        "rp-late",
        entered,
        state=JourneyState.AT_CENTRE,
        turnaround=TARGETS,
        state_since={
            JourneyState.IN_TRANSIT_TO_CENTRE.value: entered - timedelta(days=1),
            JourneyState.AT_CENTRE.value: entered,
        },
    )
    on_time = build_repair(
        "rp-fine",
        entered,
        state=JourneyState.AT_CENTRE,
        turnaround=TARGETS.model_copy(update={"at_centre_business_days": 10}),
    )
    async with store.transaction() as tx:
        await tx.add_repair(repair)
        await tx.add_repair(on_time)
    watch = TurnaroundWatch(store, clock, site_and_centre(lambda centre_id: PARIS))
    seen: list[int] = []
    for now in (paris(6, 8), paris(7, 9), paris(7, 12), paris(10, 9), paris(10, 9, 1), paris(11, 9)):
        clock.set(now)
        seen.append(await watch.evaluate())
    assert seen == [0, 1, 0, 0, 1, 0]
    notes = await store.reader().due_notifications(clock.now(), 100)
    assert [(n.repair_id, n.type, n.payload["turnaround_status"]) for n in notes] == [
        ("rp-late", "repair.turnaround_changed", "at_risk"),
        ("rp-late", "repair.turnaround_changed", "breached"),
    ]
    details = notes[1].payload["details"]
    assert isinstance(details, dict) and details["segment"] == "at_centre" and details["from"] == "at_risk"
    stored = await store.reader().get_repair("rp-late")
    assert stored is not None and stored.turnaround_status == "breached"
    history = [e.change.kind for e in await store.reader().history("rp-late")]
    assert history == ["turnaround", "turnaround"]


async def test_two_watches_at_once_report_a_transition_once(store: Store) -> None:
    clock = ManualClock(paris(10, 12))
    repair = build_repair(
        "rp-race",
        paris(3, 9),
        state=JourneyState.AT_CENTRE,
        turnaround=TARGETS,
        state_since={JourneyState.AT_CENTRE.value: paris(3, 9)},
    )
    async with store.transaction() as tx:
        await tx.add_repair(repair)
    watches = [TurnaroundWatch(store, clock, site_and_centre(lambda _: PARIS)) for _ in range(3)]
    assert sum(await asyncio.gather(*(w.evaluate() for w in watches))) == 1
    assert len(await store.reader().due_notifications(clock.now(), 100)) == 1
