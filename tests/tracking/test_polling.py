"""Polling: the backstop for lost pushes, with a next poll that follows the leg's stage.

The carrier is a small in-test adapter over an in-memory timeline: ``track`` answers with the events whose
time has come on the manual clock, as a real carrier's tracking API does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from carriers import (
    Capability,
    CarrierNotSupported,
    CarrierUnavailable,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
    TrackingStatus,
)
from logistics.config import PollingSettings
from logistics.domain.journey import JourneyState, LegStatus
from logistics.services.polling import Poller
from logistics.services.ports import Store
from logistics.services.tracking import Tracking
from tests.support.clock import ManualClock
from tests.tracking.tracking_builders import build_repair, event


class TimelineCarrier:
    """A ``CarrierAdapter`` that can only track, over scripted timelines; ``broken`` numbers fail their call."""

    name = "line"
    capabilities = frozenset({Capability.TRACK})

    def __init__(
        self,
        clock: ManualClock,
        timelines: Mapping[str, list[TrackingEvent]],
        *,
        batch: int = 2,
        broken: frozenset[str] = frozenset(),
    ) -> None:
        self.max_track_batch = batch
        self.calls: list[list[str]] = []
        self._clock = clock
        self._timelines = timelines
        self._broken = broken

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        assert len(tracking_numbers) <= self.max_track_batch
        self.calls.append(list(tracking_numbers))
        if self._broken & set(tracking_numbers):
            raise CarrierUnavailable("503 from the tracking API", status=503, carrier=self.name, operation="track")
        now = self._clock.now()
        return [
            TrackingResult(
                tracking_number=n,
                found=n in self._timelines,
                events=tuple(e for e in self._timelines.get(n, ()) if e.occurred_at <= now),
            )
            for n in tracking_numbers
        ]

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        raise CarrierNotSupported("no pickups")

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        raise CarrierNotSupported("no pickups")

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        raise CarrierNotSupported("no pickups")

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        raise CarrierNotSupported("no shipments")

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        raise CarrierNotSupported("no shipments")

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        raise CarrierNotSupported("no shipments")

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        raise CarrierNotSupported("no pushes")

    async def aclose(self) -> None:
        return None


class PushOnlyCarrier(TimelineCarrier):
    name = "pushy"
    capabilities = frozenset({Capability.PUSH_EVENTS})


async def add_repairs(store: Store, clock: ManualClock, *numbers: str) -> None:
    async with store.transaction() as tx:
        for number in numbers:
            await tx.add_repair(build_repair(f"rp-{number}", clock.now(), tracking_number=number))


async def due(store: Store, clock: ManualClock, after: timedelta) -> set[str]:
    return {n for _, _, n in await store.reader().open_legs_to_poll("line", clock.now() + after, 100)}


def timeline(number: str, start: ManualClock) -> list[TrackingEvent]:
    t0 = start.now()
    return [
        event(number, f"{number}-1", t0 + timedelta(hours=1), TrackingStatus.DROPPED_OFF),
        event(number, f"{number}-2", t0 + timedelta(hours=3), TrackingStatus.IN_TRANSIT),
        event(number, f"{number}-3", t0 + timedelta(hours=20), TrackingStatus.OUT_FOR_DELIVERY),
        event(number, f"{number}-4", t0 + timedelta(hours=22), TrackingStatus.DELIVERED),
    ]


async def test_the_next_poll_follows_the_stage_and_a_delivered_leg_closes(store: Store, clock: ManualClock) -> None:
    await add_repairs(store, clock, "A1")
    carrier = TimelineCarrier(clock, {"A1": timeline("A1", clock)})
    poller = Poller(store, clock, {"line": carrier}, Tracking(store, clock), PollingSettings())
    start = clock.now()

    assert await poller.poll_due() == 1  # nothing scanned yet: a label waits for hours
    assert await due(store, clock, timedelta(hours=5, minutes=59)) == set()
    assert await due(store, clock, timedelta(hours=6)) == {"A1"}

    clock.set(start + timedelta(hours=6))
    assert await poller.poll_due() == 1  # dropped off, then in transit: hourly
    repair = await store.reader().get_repair("rp-A1")
    assert repair is not None
    assert (repair.state, repair.inbound.status) == (JourneyState.IN_TRANSIT_TO_CENTRE, LegStatus.IN_TRANSIT)
    assert await due(store, clock, timedelta(minutes=59)) == set()
    assert await due(store, clock, timedelta(hours=1)) == {"A1"}

    clock.set(start + timedelta(hours=20, minutes=30))
    await poller.poll_due()  # out for delivery: every quarter of an hour
    assert await due(store, clock, timedelta(minutes=14)) == set()
    assert await due(store, clock, timedelta(minutes=15)) == {"A1"}

    clock.set(start + timedelta(hours=22, minutes=10))
    await poller.poll_due()
    assert await due(store, clock, timedelta(days=365)) == set()  # delivered: closed, never polled again
    assert await poller.poll_due() == 0
    events = await store.reader().carrier_events("rp-A1")
    assert [e.event_id for e in events] == ["A1-1", "A1-2", "A1-3", "A1-4"]
    assert {e.via for e in events} == {"poll"}
    assert len(carrier.calls) == 4


async def test_polls_are_batched_and_bounded_per_carrier(store: Store, clock: ManualClock) -> None:
    numbers = ["B1", "B2", "B3", "B4", "B5"]
    await add_repairs(store, clock, *numbers)
    carrier = TimelineCarrier(clock, {n: timeline(n, clock) for n in numbers}, batch=2)
    pushy = PushOnlyCarrier(clock, {})
    poller = Poller(
        store, clock, {"line": carrier, "pushy": pushy}, Tracking(store, clock), PollingSettings(per_carrier_batch=3)
    )
    assert await poller.poll_due() == 3
    assert [len(call) for call in carrier.calls] == [2, 1]
    assert await poller.poll_due() == 2  # the rest on the next pass
    assert sorted(n for call in carrier.calls for n in call) == numbers
    assert pushy.calls == []  # a carrier that cannot track is never asked


async def test_a_failing_call_does_not_stop_the_others(store: Store, clock: ManualClock) -> None:
    await add_repairs(store, clock, "C1", "C2", "C3", "C4")
    clock.advance(hours=4)
    carrier = TimelineCarrier(
        clock,
        {n: timeline(n, clock.__class__(clock.now() - timedelta(hours=4))) for n in ("C1", "C2", "C3", "C4")},
        broken=frozenset({"C2"}),
    )
    poller = Poller(store, clock, {"line": carrier}, Tracking(store, clock), PollingSettings())
    assert await poller.poll_due() == 2  # C1+C2 failed; C3+C4 were polled
    for number, expected in (("C1", LegStatus.LABEL_CREATED), ("C3", LegStatus.IN_TRANSIT)):
        repair = await store.reader().get_repair(f"rp-{number}")
        assert repair is not None and repair.inbound.status is expected
    assert await due(store, clock, timedelta(minutes=9)) == set()
    assert await due(store, clock, timedelta(minutes=10)) == {"C1", "C2"}  # tried again soon


async def test_a_number_the_carrier_does_not_know_yet_is_asked_again_later(store: Store, clock: ManualClock) -> None:
    async with store.transaction() as tx:
        await tx.add_repair(
            build_repair(
                "rp-X",
                clock.now(),
                tracking_number="X1",
                state=JourneyState.IN_TRANSIT_TO_CENTRE,
                leg_status=LegStatus.IN_TRANSIT,
            )
        )
    poller = Poller(store, clock, {"line": TimelineCarrier(clock, {})}, Tracking(store, clock), PollingSettings())
    assert await poller.poll_due() == 1
    assert await due(store, clock, timedelta(hours=3, minutes=59)) == set()  # not the hourly in-transit pace
    assert await due(store, clock, timedelta(hours=4)) == {"X1"}


async def test_the_cadence_of_each_stage_is_a_setting(store: Store, clock: ManualClock) -> None:
    await add_repairs(store, clock, "S1")
    carrier = TimelineCarrier(clock, {"S1": timeline("S1", clock)})
    settings = PollingSettings(cadence_min={"label_created": 90, "in_transit": 20})
    poller = Poller(store, clock, {"line": carrier}, Tracking(store, clock), settings)
    start = clock.now()

    assert await poller.poll_due() == 1  # a label waiting: 90 minutes as set, not the default six hours
    assert await due(store, clock, timedelta(minutes=89)) == set()
    assert await due(store, clock, timedelta(minutes=90)) == {"S1"}

    clock.set(start + timedelta(hours=6))
    await poller.poll_due()  # in transit: 20 minutes as set
    assert await due(store, clock, timedelta(minutes=19)) == set()
    assert await due(store, clock, timedelta(minutes=20)) == {"S1"}

    clock.set(start + timedelta(hours=20, minutes=30))
    await poller.poll_due()  # out for delivery was not named: its default quarter of an hour holds
    assert await due(store, clock, timedelta(minutes=14)) == set()
    assert await due(store, clock, timedelta(minutes=15)) == {"S1"}


async def test_the_retry_after_an_error_and_for_an_unknown_number_are_settings(
    store: Store, clock: ManualClock
) -> None:
    await add_repairs(store, clock, "R1", "R2")
    carrier = TimelineCarrier(clock, {"R1": timeline("R1", clock)}, broken=frozenset({"R1"}), batch=1)
    settings = PollingSettings(error_retry_min=3, not_found_retry_min=45, cadence_min={"label_created": 5})
    poller = Poller(store, clock, {"line": carrier}, Tracking(store, clock), settings)
    await poller.poll_due()  # R1's call fails; R2 is unknown to the carrier
    assert await due(store, clock, timedelta(minutes=2)) == set()
    assert await due(store, clock, timedelta(minutes=3)) == {"R1"}
    assert await due(store, clock, timedelta(minutes=44)) == {"R1"}
    assert await due(store, clock, timedelta(minutes=45)) == {"R1", "R2"}


@pytest.mark.parametrize(
    ("cadence", "message"),
    [
        ({"in_transport": 30}, "unknown tracking stage"),
        ({"delivered": 30}, "unknown tracking stage"),
        ({"in_transit": 0}, "greater than 0"),
    ],
)
def test_a_cadence_for_no_stage_or_not_positive_is_refused(cadence: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PollingSettings(cadence_min=cadence)
