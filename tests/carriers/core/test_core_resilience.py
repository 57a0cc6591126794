"""The resilience layer against the simulated carrier's fault plan, in virtual time (looptime)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from email.utils import format_datetime
from typing import Any

import pytest

from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierBusy,
    CarrierCircuitOpen,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import Capability
from carriers.resilience import AttemptOutcome, AttemptRecord, BreakerState, CallPolicy, ResilientCarrier
from carriers.sim import FaultStep, SimCarrier, SimSettings
from carriers.testing import EXAMPLE_START, LoopClock, example_pickup_request, example_shipment_request

pytestmark = pytest.mark.looptime

POLICY = CallPolicy(
    attempt_timeout_s=2.0,
    deadline_s=30.0,
    max_attempts=4,
    backoff_base_s=0.5,
    backoff_cap_s=4.0,
    retry_after_cap_s=10.0,
    breaker_failure_threshold=3,
    breaker_cooldown_s=20.0,
    max_concurrency=2,
)


class Rig:
    """A sim carrier behind a ResilientCarrier, with every attempt recorded."""

    def __init__(
        self,
        *faults: dict[str, Any],
        policy: CallPolicy = POLICY,
        capabilities: frozenset[Capability] = frozenset(Capability),
        max_track_batch: int = 25,
    ) -> None:
        self.clock = LoopClock()
        settings = SimSettings(faults=tuple(FaultStep(**f) for f in faults), max_track_batch=max_track_batch)
        self.sim = SimCarrier(settings, clock=self.clock, sleep=asyncio.sleep, capabilities=capabilities)
        self.records: list[AttemptRecord] = []
        self.carrier = ResilientCarrier(self.sim, policy, rng=random.Random(7), on_attempt=self.records.append)

    def trail(self) -> list[tuple[str, AttemptOutcome]]:
        return [(r.operation, r.outcome) for r in self.records]


def breaker_state(rig: Rig) -> BreakerState:
    return rig.carrier.breaker.state


def now() -> float:
    return asyncio.get_running_loop().time()


async def booked_number(rig: Rig) -> str:
    booking = await rig.sim.create_shipment(example_shipment_request("TRACKED"))
    return booking.tracking_numbers[0]


# -- rate limits ------------------------------------------------------------------------------------------


async def test_429_without_headers_backs_off_with_jitter_then_succeeds() -> None:
    rig = Rig({"operation": "track", "kind": "http_error", "status": 429})
    number = await booked_number(rig)
    start = now()
    (result,) = await rig.carrier.track([number])
    assert result.found
    assert rig.trail() == [("track", AttemptOutcome.TRANSIENT), ("track", AttemptOutcome.SUCCESS)]
    assert 0 < now() - start <= POLICY.backoff_base_s  # full jitter below the first ceiling


async def test_429_retry_after_seconds_is_honoured() -> None:
    rig = Rig({"operation": "track", "kind": "http_error", "status": 429, "retry_after": "3"})
    number = await booked_number(rig)
    start = now()
    await rig.carrier.track([number])
    assert now() - start == pytest.approx(3.0)


async def test_429_retry_after_http_date_is_honoured() -> None:
    when = format_datetime(EXAMPLE_START.replace(second=5), usegmt=True)
    rig = Rig({"operation": "track", "kind": "http_error", "status": 429, "retry_after": when})
    number = await booked_number(rig)
    start = now()
    await rig.carrier.track([number])
    assert now() - start == pytest.approx(5.0)


async def test_retry_after_is_capped() -> None:
    rig = Rig({"operation": "track", "kind": "http_error", "status": 429, "retry_after": "86400"})
    number = await booked_number(rig)
    start = now()
    await rig.carrier.track([number])
    assert now() - start == pytest.approx(POLICY.retry_after_cap_s)


async def test_rate_limit_exhausting_attempts_raises_the_real_error() -> None:
    rig = Rig({"operation": "track", "kind": "http_error", "status": 429, "times": 10})
    with pytest.raises(CarrierRateLimited):
        await rig.carrier.track(["1Z5SIM011100000017"])
    assert len(rig.records) == POLICY.max_attempts


# -- server errors and stalls -----------------------------------------------------------------------------


async def test_503_html_on_a_read_is_retried() -> None:
    page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    rig = Rig({"operation": "find_shipment", "kind": "http_error", "status": 503, "body": page})
    assert await rig.carrier.find_shipment("NOTHING") is None
    assert rig.trail() == [("find_shipment", AttemptOutcome.TRANSIENT), ("find_shipment", AttemptOutcome.SUCCESS)]
    assert rig.records[0].error_type == "CarrierUnavailable"


async def test_503_on_create_is_reconciled_before_creating_again() -> None:
    rig = Rig({"operation": "create_shipment", "kind": "http_error", "status": 503})
    booking = await rig.carrier.create_shipment(example_shipment_request("S-503"))
    assert rig.sim.shipments_for("S-503") == [booking]
    assert rig.trail() == [
        ("create_shipment", AttemptOutcome.AMBIGUOUS),
        ("find_shipment", AttemptOutcome.SUCCESS),
        ("create_shipment", AttemptOutcome.SUCCESS),
    ]


async def test_stall_longer_than_the_attempt_timeout_is_cut_and_retried() -> None:
    rig = Rig({"operation": "track", "kind": "stall", "delay_s": 60})
    number = await booked_number(rig)
    start = now()
    (result,) = await rig.carrier.track([number])
    assert result.found
    assert rig.trail() == [("track", AttemptOutcome.TIMEOUT), ("track", AttemptOutcome.SUCCESS)]
    assert POLICY.attempt_timeout_s <= now() - start <= POLICY.attempt_timeout_s + POLICY.backoff_base_s


# -- never twice ------------------------------------------------------------------------------------------


async def test_timeout_after_the_pickup_was_applied_is_reconciled_by_reference() -> None:
    rig = Rig({"operation": "schedule_pickup", "kind": "stall", "after_apply": True, "delay_s": 600})
    request = example_pickup_request("P-STALL")
    booking = await rig.carrier.schedule_pickup(request)
    assert rig.sim.pickups_for("P-STALL") == [booking]  # exactly one, and the one returned
    assert rig.trail() == [("schedule_pickup", AttemptOutcome.TIMEOUT), ("find_pickup", AttemptOutcome.SUCCESS)]


async def test_reset_after_the_shipment_was_applied_is_reconciled_by_reference() -> None:
    rig = Rig({"operation": "create_shipment", "kind": "reset", "after_apply": True})
    booking = await rig.carrier.create_shipment(example_shipment_request("S-RESET"))
    assert rig.sim.shipments_for("S-RESET") == [booking]
    assert rig.trail() == [
        ("create_shipment", AttemptOutcome.AMBIGUOUS),
        ("find_shipment", AttemptOutcome.SUCCESS),
    ]


async def test_without_a_lookup_an_ambiguous_create_is_left_to_the_caller() -> None:
    rig = Rig(
        {"operation": "create_shipment", "kind": "reset", "after_apply": True},
        capabilities=frozenset(Capability) - {Capability.FIND_SHIPMENT},
    )
    with pytest.raises(CarrierAmbiguousError):
        await rig.carrier.create_shipment(example_shipment_request("S-NOLOOKUP"))
    assert len(rig.records) == 1  # not created again blindly
    assert len(rig.sim.shipments_for("S-NOLOOKUP")) == 1


async def test_a_failing_lookup_leaves_the_outcome_ambiguous() -> None:
    rig = Rig(
        {"operation": "create_shipment", "kind": "reset", "after_apply": True},
        {"operation": "find_shipment", "kind": "refused", "times": 10},
    )
    with pytest.raises(CarrierAmbiguousError):
        await rig.carrier.create_shipment(example_shipment_request("S-BLIND"))
    assert len(rig.sim.shipments_for("S-BLIND")) == 1
    assert [op for op, _ in rig.trail()].count("create_shipment") == 1


async def test_cancel_is_retried_after_an_ambiguous_answer() -> None:
    rig = Rig({"operation": "cancel_pickup", "kind": "reset", "after_apply": True})
    booking = await rig.sim.schedule_pickup(example_pickup_request("P-CANCEL"))
    await rig.carrier.cancel_pickup(booking)
    assert rig.sim.pickups_for("P-CANCEL") == []
    assert rig.trail()[-1] == ("cancel_pickup", AttemptOutcome.SUCCESS)


# -- permanent errors -------------------------------------------------------------------------------------


async def test_permanent_rejection_is_not_retried() -> None:
    rig = Rig({"operation": "schedule_pickup", "kind": "reject", "code": "9510113", "message": "bad postcode"})
    start = now()
    with pytest.raises(CarrierRejected) as caught:
        await rig.carrier.schedule_pickup(example_pickup_request("P-REJECT"))
    assert caught.value.code == "9510113"
    assert rig.trail() == [("schedule_pickup", AttemptOutcome.PERMANENT)]
    assert now() == start
    assert rig.sim.pickups_for("P-REJECT") == []


# -- circuit breaker --------------------------------------------------------------------------------------

ONE_SHOT = POLICY.model_copy(update={"max_attempts": 1})


async def test_breaker_opens_fails_fast_and_closes_after_a_successful_probe() -> None:
    rig = Rig({"operation": "track", "kind": "refused", "times": 3}, policy=ONE_SHOT)
    for _ in range(3):
        with pytest.raises(CarrierUnavailable):
            await rig.carrier.track(["1Z5SIM011100000017"])
    assert breaker_state(rig) is BreakerState.OPEN

    started = time.perf_counter()
    with pytest.raises(CarrierCircuitOpen):
        await rig.carrier.track(["1Z5SIM011100000017"])
    assert time.perf_counter() - started < 0.005  # real time: the carrier was not called
    assert rig.trail()[-1] == ("track", AttemptOutcome.CIRCUIT_OPEN)

    await asyncio.sleep(POLICY.breaker_cooldown_s)
    (result,) = await rig.carrier.track(["1Z5SIM011100000017"])  # the probe
    assert result.found is False
    assert breaker_state(rig) is BreakerState.CLOSED


async def test_a_failed_probe_opens_the_breaker_again() -> None:
    rig = Rig({"operation": "track", "kind": "refused", "times": 4}, policy=ONE_SHOT)
    for _ in range(3):
        with pytest.raises(CarrierUnavailable):
            await rig.carrier.track(["X"])
    await asyncio.sleep(POLICY.breaker_cooldown_s)
    with pytest.raises(CarrierUnavailable):
        await rig.carrier.track(["X"])  # the probe fails
    assert breaker_state(rig) is BreakerState.OPEN
    with pytest.raises(CarrierCircuitOpen):
        await rig.carrier.track(["X"])


async def test_only_one_probe_at_a_time_while_half_open() -> None:
    rig = Rig(
        {"operation": "track", "kind": "refused", "times": 3},
        {"operation": "track", "kind": "latency", "delay_s": 1.0},
        policy=ONE_SHOT,
    )
    for _ in range(3):
        with pytest.raises(CarrierUnavailable):
            await rig.carrier.track(["X"])
    await asyncio.sleep(POLICY.breaker_cooldown_s)
    probe = asyncio.create_task(rig.carrier.track(["X"]))
    await asyncio.sleep(0.1)
    with pytest.raises(CarrierCircuitOpen):
        await rig.carrier.track(["X"])
    await probe
    assert breaker_state(rig) is BreakerState.CLOSED


async def test_rejections_do_not_open_the_breaker() -> None:
    rig = Rig({"operation": "find_shipment", "kind": "reject", "times": 10}, policy=ONE_SHOT)
    for _ in range(10):
        with pytest.raises(CarrierRejected):
            await rig.carrier.find_shipment("R")
    assert breaker_state(rig) is BreakerState.CLOSED


# -- bulkhead and deadline --------------------------------------------------------------------------------


async def test_concurrency_limit_is_honoured() -> None:
    rig = Rig({"operation": "track", "kind": "latency", "delay_s": 1.0, "times": 6})
    start = now()
    await asyncio.gather(*(rig.carrier.track(["X"]) for _ in range(6)))
    # Two slots, six one-second calls: three rounds. Unlimited would take one second.
    assert now() - start == pytest.approx(3.0)


async def test_the_wait_for_a_slot_counts_towards_the_deadline() -> None:
    # One slot, a 3 s deadline, shipments taking 1.2 s: the second create sends at 1.2 s, the third at 2.4 s
    # with 0.6 s left (cut short: ambiguous), and the fourth never gets a slot in time: busy, never sent.
    policy = POLICY.model_copy(update={"max_concurrency": 1, "deadline_s": 3.0, "max_attempts": 1})
    rig = Rig({"operation": "create_shipment", "kind": "latency", "delay_s": 1.2, "times": 4}, policy=policy)
    ended: dict[str, float] = {}

    async def create(reference: str) -> str:
        try:
            await rig.carrier.create_shipment(example_shipment_request(reference))
            return "booked"
        except CarrierAmbiguousError:
            return "ambiguous"
        except CarrierBusy:
            return "busy"
        finally:
            ended[reference] = now()

    start = now()
    outcomes = await asyncio.gather(*(create(f"SLOT-{n}") for n in range(4)))
    assert outcomes == ["booked", "booked", "ambiguous", "busy"]
    assert all(at - start <= policy.deadline_s for at in ended.values()), ended
    assert rig.sim.shipments_for("SLOT-3") == []  # never sent
    assert ("create_shipment", AttemptOutcome.BUSY) in rig.trail()
    assert breaker_state(rig) is BreakerState.CLOSED  # our own queue says nothing of the carrier's health


async def test_deadline_is_honoured_across_attempts() -> None:
    policy = POLICY.model_copy(update={"deadline_s": 5.0, "max_attempts": 10})
    rig = Rig({"operation": "track", "kind": "stall", "delay_s": 60, "times": 10}, policy=policy)
    start = now()
    with pytest.raises(CarrierTimeout):
        await rig.carrier.track(["X"])
    assert now() - start <= 5.0
    assert 2 <= len(rig.records) < 10


async def test_track_is_split_into_batches() -> None:
    rig = Rig(max_track_batch=2)
    results = await rig.carrier.track([f"N{i}" for i in range(5)])
    assert [r.tracking_number for r in results] == [f"N{i}" for i in range(5)]
    assert rig.trail() == [("track", AttemptOutcome.SUCCESS)] * 3


async def test_every_attempt_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig({"operation": "find_pickup", "kind": "http_error", "status": 502})
    with caplog.at_level(logging.INFO, logger="carriers.resilience"):
        await rig.carrier.find_pickup("P", EXAMPLE_START.date())
    lines = [r for r in caplog.records if r.name == "carriers.resilience.carrier"]
    assert [(r.__dict__["operation"], r.__dict__["outcome"], r.__dict__["attempt"]) for r in lines] == [
        ("find_pickup", "transient", 1),
        ("find_pickup", "success", 2),
    ]
    assert all(r.__dict__["carrier"] == "sim" and r.__dict__["latency_s"] >= 0 for r in lines)


async def test_refused_credentials_are_counted_apart_and_not_retried() -> None:
    rig = Rig({"operation": "schedule_pickup", "kind": "http_error", "status": 401, "body": "invalid credentials"})
    with pytest.raises(CarrierAuthError):
        await rig.carrier.schedule_pickup(example_pickup_request("P-AUTH"))
    assert rig.trail() == [("schedule_pickup", AttemptOutcome.AUTH_REFUSED)]
    assert rig.sim.pickups_for("P-AUTH") == []
