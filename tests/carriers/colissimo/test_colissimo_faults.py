"""Colissimo behind the resilience layer, in virtual time: retries, deadlines and never twice, over HTTP.

The adapter talks to the fake SLS and Suivi servers on a loopback port; the event loop's clock is virtual
(looptime), so stalls, backoffs and Retry-After pauses cost no real time. The property at the end throws
random fault plans at label creation and the letterbox pickup and checks that Colissimo never holds two
labels for one reference, nor two pickups for one parcel, and that what the caller is told agrees with
what Colissimo holds.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import CarrierContext
from carriers.colissimo.adapter import ColissimoAdapter
from carriers.errors import CarrierAmbiguousError, CarrierError, CarrierTimeout
from carriers.resilience import AttemptOutcome, AttemptRecord, CallPolicy, ResilientCarrier
from carriers.testing import LoopClock
from tests.carriers.colissimo.builders import START, pickup_request, settings_for, shipment_request
from tests.fakes.colissimo_server import FakeColissimoServer, Fault, SlsSpec, domestic_number, load_spec, spec_path

pytestmark = pytest.mark.looptime

POLICY = CallPolicy(
    attempt_timeout_s=2.0,
    deadline_s=20.0,
    max_attempts=4,
    backoff_base_s=0.2,
    backoff_cap_s=2.0,
    retry_after_cap_s=5.0,
    breaker_failure_threshold=50,
    breaker_cooldown_s=10.0,
    max_concurrency=4,
)


@dataclass
class Rig:
    fake: FakeColissimoServer
    carrier: ResilientCarrier
    records: list[AttemptRecord]

    def trail(self) -> list[tuple[str, AttemptOutcome]]:
        return [(r.operation, r.outcome) for r in self.records]


def _spec() -> SlsSpec:
    if not spec_path().is_file():
        pytest.skip("Colissimo's SLS description is missing")
    return load_spec()


@asynccontextmanager
async def rig(seed: int = 7) -> AsyncIterator[Rig]:
    clock = LoopClock(START)
    fake = FakeColissimoServer(_spec(), clock=clock.now)
    await fake.start()
    records: list[AttemptRecord] = []
    try:
        async with aiohttp.ClientSession() as session:
            # The adapter's own timeout is longer than the policy's attempt timeout: the policy decides.
            adapter = ColissimoAdapter(
                settings_for(fake, timeout_seconds=60), CarrierContext(session, clock, asyncio.sleep)
            )
            carrier = ResilientCarrier(adapter, POLICY, rng=random.Random(seed), on_attempt=records.append)
            yield Rig(fake, carrier, records)
    finally:
        await fake.stop()
    assert fake.violations == [], fake.violations


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_rate_limited_tracking_waits_as_told_then_succeeds() -> None:
    async with rig() as r:
        number = domestic_number("8R", 77)
        r.fake.scan(number, "PC1", START)
        r.fake.inject("track", Fault.rate_limited("3"), Fault.rate_limited("3"))
        started = now()
        (result,) = await r.carrier.track([number])
        assert result.found
        assert now() - started == pytest.approx(6.0, abs=0.05)
        assert r.fake.calls["track"] == 3


async def test_a_rate_limit_longer_than_the_cap_waits_the_cap() -> None:
    async with rig() as r:
        r.fake.inject("track", Fault.rate_limited("120"))
        started = now()
        await r.carrier.track([domestic_number("8R", 78)])
        assert now() - started == pytest.approx(5.0, abs=0.05)


async def test_a_stalled_tracking_call_is_retried_after_the_attempt_timeout() -> None:
    async with rig() as r:
        r.fake.inject("track", Fault.stall())
        started = now()
        await r.carrier.track([domestic_number("8R", 79)])
        assert 2.0 <= now() - started <= 2.0 + POLICY.backoff_base_s * 2 + 0.05
        assert r.trail()[0] == ("track", AttemptOutcome.TIMEOUT)


async def test_tracking_that_never_answers_gives_up_at_the_deadline() -> None:
    async with rig() as r:
        r.fake.inject("track", *[Fault.stall()] * 10)
        started = now()
        with pytest.raises(CarrierTimeout):
            await r.carrier.track([domestic_number("8R", 80)])
        assert now() - started <= POLICY.deadline_s
        assert len(r.records) == POLICY.max_attempts


async def test_a_stalled_label_is_ambiguous_at_once_and_not_created_again() -> None:
    async with rig() as r:
        r.fake.inject("generate_label", Fault.stall_after_apply())
        with pytest.raises(CarrierAmbiguousError):
            await r.carrier.create_shipment(shipment_request("AMB-1", is_return=True))
        # SLS cannot look a label up by our reference: the wrapper does not guess, the outbox reconciles.
        assert r.fake.label_count("AMB-1") == 1
        assert r.fake.calls["generate_label"] == 1


async def test_a_rate_limited_label_is_retried_and_made_once() -> None:
    async with rig() as r:
        r.fake.inject("generate_label", Fault.rate_limited(), Fault.rate_limited("1"))
        booking = await r.carrier.create_shipment(shipment_request("RL-1", is_return=True))
        assert r.fake.label_count("RL-1") == 1
        assert r.fake.by_order["RL-1"][0].number == booking.shipment_id
        assert [o for _, o in r.trail()] == [AttemptOutcome.TRANSIENT] * 2 + [AttemptOutcome.SUCCESS]


async def test_a_letterbox_pickup_that_failed_at_la_poste_is_planned_again_once() -> None:
    async with rig() as r:
        number = r.fake.announce("CORE")
        r.fake.inject("plan_pickup", Fault.reset(), Fault.technical_error())
        booking = await r.carrier.schedule_pickup(pickup_request("PK-1", number))
        assert booking.confirmation == number
        assert list(r.fake.pickups) == [number]
        assert r.fake.calls["plan_pickup"] == 3


async def test_a_letterbox_pickup_with_no_answer_in_time_is_left_ambiguous() -> None:
    # Our own attempt timeout cannot tell whether La Poste planned it; with no look-up, the outbox decides.
    async with rig() as r:
        number = r.fake.announce("CORE")
        r.fake.inject("plan_pickup", Fault.stall_after_apply())
        with pytest.raises(CarrierAmbiguousError):
            await r.carrier.schedule_pickup(pickup_request("PK-2", number))
        assert list(r.fake.pickups) == [number]
        assert r.fake.calls["plan_pickup"] == 1


# -- never twice ---------------------------------------------------------------------------------------------

FAULTS = [
    Fault.rate_limited(),
    Fault.rate_limited("1"),
    Fault.unavailable_html(),
    Fault.technical_error(),
    Fault.stall(),
    Fault.reset(),
    Fault.stall_after_apply(),
    Fault.refused("30108", "Le poids du colis n'est pas valide"),
]
plans = st.lists(st.sampled_from(FAULTS), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans, seed=st.integers(0, 2**16))
async def test_a_reference_gets_at_most_one_colissimo_label(plan: list[Fault], seed: int) -> None:
    async with rig(seed) as r:
        r.fake.inject("generate_label", *plan)
        try:
            booking = await r.carrier.create_shipment(shipment_request("NT-1", is_return=True))
        except CarrierAmbiguousError:
            assert r.fake.label_count("NT-1") <= 1
        except CarrierError:
            assert r.fake.label_count("NT-1") == 0  # a definite failure: nothing was created
        else:
            assert [label.number for label in r.fake.by_order["NT-1"]] == [booking.shipment_id]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans, seed=st.integers(0, 2**16))
async def test_a_parcel_gets_at_most_one_letterbox_pickup(plan: list[Fault], seed: int) -> None:
    async with rig(seed) as r:
        number = r.fake.announce("CORE")
        r.fake.inject("plan_pickup", *plan)
        try:
            booking = await r.carrier.schedule_pickup(pickup_request("NT-2", number))
        except CarrierError:
            # Planned or not, La Poste holds at most the one pickup of this parcel.
            assert len(r.fake.pickups) <= 1
        else:
            assert list(r.fake.pickups) == [booking.confirmation]
            assert r.fake.pickups[number].day == booking.pickup_date
