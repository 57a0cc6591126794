"""The simulated carrier's parts: check digits, timeline, fault plan, pushes and persistence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from carriers.errors import (
    CarrierAmbiguousError,
    CarrierPushAuthError,
    CarrierPushMalformed,
    CarrierRateLimited,
    CarrierRejected,
    CarrierUnavailable,
)
from carriers.models import TrackingStatus
from carriers.sim import (
    DEVELOPMENT_PUSH_SECRET,
    FaultStep,
    SimCarrier,
    SimSettings,
    is_valid_tracking_number,
    make_tracking_number,
    push_body,
    sign_push,
)
from carriers.testing import EXAMPLE_START, example_pickup_request, example_shipment_request
from tests.support.clock import ManualClock


async def no_sleep(_: float) -> None:
    return None


def sim(clock: ManualClock, **settings: object) -> SimCarrier:
    return SimCarrier(SimSettings.model_validate(settings), clock=clock, sleep=no_sleep)


# -- check digits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1Z999AA10123456784", "1Z12345E6605272234"])
def test_published_ups_numbers_are_valid(number: str) -> None:
    assert is_valid_tracking_number(number)


@pytest.mark.parametrize(
    "number", ["1Z12345E0205271688", "1Z999AA10123456785", "1Z999AA1012345678", "2Z999AA10123456784"]
)
def test_wrong_numbers_are_invalid(number: str) -> None:
    assert not is_valid_tracking_number(number)


@given(serial=st.integers(0, 9_999_999), position=st.integers(2, 17), digit=st.integers(0, 9))
def test_a_changed_digit_is_detected(serial: int, position: int, digit: int) -> None:
    number = make_tracking_number("5SIM01", "11", serial)
    assert is_valid_tracking_number(number)
    changed = number[:position] + str(digit) + number[position + 1 :]
    if changed != number and number[position].isdigit():
        assert not is_valid_tracking_number(changed)


# -- timeline ---------------------------------------------------------------------------------------------


async def test_timeline_advances_with_the_clock() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier = sim(clock)
    booking = await carrier.create_shipment(example_shipment_request("T-1", is_return=True))
    number = booking.tracking_numbers[0]

    async def codes() -> list[str]:
        (result,) = await carrier.track([number])
        return [e.raw_code for e in result.events]

    assert await codes() == ["LC"]
    clock.advance(hours=4)
    assert await codes() == ["LC", "DO"]  # a return label: the customer drops it off
    clock.advance(hours=22)
    assert await codes() == ["LC", "DO", "IT", "OD", "DL"]
    (result,) = await carrier.track([number])
    assert result.events[-1].status is TrackingStatus.DELIVERED
    assert [e.occurred_at for e in result.events] == sorted(e.occurred_at for e in result.events)


async def test_a_booked_pickup_turns_drop_off_into_pick_up_and_void_ends_the_story() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier = sim(
        clock, timeline={"handed_over_s": 60, "in_transit_s": 120, "out_for_delivery_s": 180, "delivered_s": 240}
    )
    booking = await carrier.create_shipment(example_shipment_request("T-2", is_return=True))
    number = booking.tracking_numbers[0]
    await carrier.schedule_pickup(example_pickup_request("P-2", tracking_numbers=(number,)))
    clock.advance(90)
    await carrier.void_shipment(booking)
    clock.advance(3600)
    (result,) = await carrier.track([number])
    assert [e.raw_code for e in result.events] == ["LC", "PU", "VO"]


def test_timeline_offsets_must_not_decrease() -> None:
    with pytest.raises(ValidationError):
        SimSettings.model_validate({"timeline": {"in_transit_s": 10, "out_for_delivery_s": 5}})


# -- fault plan -------------------------------------------------------------------------------------------


async def test_fault_steps_are_consumed_in_order_per_operation() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier = sim(
        clock,
        faults=[
            {"operation": "schedule_pickup", "kind": "http_error", "status": 429, "retry_after": "4"},
            {"operation": "find_pickup", "kind": "refused"},
            {"operation": "schedule_pickup", "kind": "reject", "code": "X1"},
        ],
    )
    request = example_pickup_request("F-1")
    with pytest.raises(CarrierRateLimited) as limited:
        await carrier.schedule_pickup(request)
    assert limited.value.retry_after == 4.0
    with pytest.raises(CarrierRejected):
        await carrier.schedule_pickup(request)
    with pytest.raises(CarrierUnavailable):
        await carrier.find_pickup("F-1", request.pickup_date)
    assert carrier.faults.remaining == 0
    booking = await carrier.schedule_pickup(request)
    assert carrier.pickups_for("F-1") == [booking]


async def test_a_fault_after_apply_leaves_the_booking_in_place() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier = sim(
        clock, faults=[{"operation": "create_shipment", "kind": "http_error", "status": 500, "after_apply": True}]
    )
    with pytest.raises(CarrierAmbiguousError):
        await carrier.create_shipment(example_shipment_request("F-2"))
    assert len(carrier.shipments_for("F-2")) == 1


def test_a_refusal_cannot_happen_after_apply() -> None:
    with pytest.raises(ValidationError):
        FaultStep(kind="refused", after_apply=True)


# -- pushes -----------------------------------------------------------------------------------------------


async def push_fixture(clock: ManualClock) -> tuple[SimCarrier, bytes, str]:
    carrier = sim(clock)
    booking = await carrier.create_shipment(example_shipment_request("PUSH"))
    (result,) = await carrier.track(booking.tracking_numbers)
    return carrier, push_body(list(result.events)), booking.tracking_numbers[0]


async def test_a_signed_push_gives_the_same_events_as_tracking() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier, body, number = await push_fixture(clock)
    headers = sign_push(DEVELOPMENT_PUSH_SECRET, body, int(clock.now().timestamp()))
    clock.advance(60)
    events = carrier.parse_push(headers, body)
    (result,) = await carrier.track([number])
    assert [e.event_id for e in events] == [e.event_id for e in result.events[: len(events)]]
    assert events[0].status is TrackingStatus.LABEL_CREATED


async def test_pushes_with_a_bad_signature_or_too_old_are_refused() -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier, body, _ = await push_fixture(clock)
    stamp = int(clock.now().timestamp())
    with pytest.raises(CarrierPushAuthError):
        carrier.parse_push(sign_push("wrong-secret", body, stamp), body)
    with pytest.raises(CarrierPushAuthError):
        carrier.parse_push(sign_push(DEVELOPMENT_PUSH_SECRET, body, stamp), body + b" ")
    with pytest.raises(CarrierPushAuthError):
        carrier.parse_push({}, body)
    headers = sign_push(DEVELOPMENT_PUSH_SECRET, body, stamp)
    clock.advance(301)
    with pytest.raises(CarrierPushAuthError):
        carrier.parse_push(headers, body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"events": []}',
        b'{"events": [{"tracking_number": "1Z", "code": "ZZ", "occurred_at": "2025-03-03T08:00:00Z"}]}',
        b'{"events": [{"tracking_number": "1Z", "code": "IT", "occurred_at": "2025-03-03T08:00:00"}]}',
    ],
)
def test_malformed_pushes_are_refused(body: bytes) -> None:
    clock = ManualClock(EXAMPLE_START)
    carrier = sim(clock)
    headers = sign_push(DEVELOPMENT_PUSH_SECRET, body, int(clock.now().timestamp()))
    with pytest.raises(CarrierPushMalformed):
        carrier.parse_push(headers, body)


# -- persistence ------------------------------------------------------------------------------------------


async def test_bookings_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    clock = ManualClock(EXAMPLE_START)
    first = sim(clock, state_path=str(state))
    pickup = await first.schedule_pickup(example_pickup_request("R-1"))
    shipment = await first.create_shipment(example_shipment_request("R-2"))
    journal = [json.loads(line) for line in state.read_text().splitlines()]
    assert [entry["kind"] for entry in journal] == ["pickup", "shipment"]
    assert journal[-1]["serial"] == 2
    await first.aclose()

    second = sim(clock, state_path=str(state))
    assert await second.find_pickup("R-1", pickup.pickup_date) == pickup
    assert await second.find_shipment("R-2") == shipment
    another = await second.create_shipment(example_shipment_request("R-3"))
    assert set(another.tracking_numbers).isdisjoint(shipment.tracking_numbers)
    await second.cancel_pickup(pickup)
    await second.aclose()
    with state.open("a") as torn:  # a crash in the middle of appending
        torn.write('{"kind": "shipm')
    third = sim(clock, state_path=str(state))
    assert await third.find_pickup("R-1", pickup.pickup_date) is None
    assert await third.find_shipment("R-3") == another
    clock.advance(timedelta(hours=30).total_seconds())
    (result,) = await second.track(shipment.tracking_numbers)
    assert result.events[-1].raw_code == "DL"
    after_tear = await third.create_shipment(example_shipment_request("R-4"))  # appended past the torn line
    await third.aclose()
    fourth = sim(clock, state_path=str(state))
    assert await fourth.find_shipment("R-4") == after_tear
    await fourth.aclose()
