"""Property: whatever faults the carrier throws, a reference is booked at most once, and the caller's result
agrees with what the carrier holds."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.errors import CarrierAmbiguousError, CarrierError
from carriers.models import Capability
from carriers.resilience import CallPolicy, ResilientCarrier
from carriers.sim import FaultStep, SimCarrier, SimSettings
from carriers.testing import LoopClock, example_pickup_request, example_shipment_request

# Every example runs in the test's own virtual-time loop: stalls and backoffs cost no real time.
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

fault_kinds: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"kind": "http_error", "status": 429},
        {"kind": "http_error", "status": 429, "retry_after": "1"},
        {"kind": "http_error", "status": 503},
        {"kind": "http_error", "status": 500, "after_apply": True},
        {"kind": "stall", "delay_s": 30.0},
        {"kind": "stall", "delay_s": 30.0, "after_apply": True},
        {"kind": "reset"},
        {"kind": "reset", "after_apply": True},
        {"kind": "refused"},
        {"kind": "reject"},
        {"kind": "latency", "delay_s": 0.5},
    ]
)


def steps(creates: str, finds: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    def combine(pair: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        return {"operation": pair[0], **pair[1]}

    step = st.tuples(st.sampled_from([creates, finds]), fault_kinds).map(combine)
    return st.lists(step, max_size=8)


def make(plan: list[dict[str, Any]], lookup: bool, seed: int) -> tuple[SimCarrier, ResilientCarrier]:
    caps = frozenset(Capability) if lookup else frozenset(Capability) - {Capability.FIND_SHIPMENT}
    if not lookup:
        caps -= {Capability.FIND_PICKUP}
        plan = [p for p in plan if not p["operation"].startswith("find_")]
    settings_ = SimSettings(faults=tuple(FaultStep(**p) for p in plan))
    sim = SimCarrier(settings_, clock=LoopClock(), sleep=asyncio.sleep, capabilities=caps)
    return sim, ResilientCarrier(sim, POLICY, rng=random.Random(seed))


@settings(max_examples=100, deadline=None)
@given(plan=steps("create_shipment", "find_shipment"), lookup=st.booleans(), seed=st.integers(0, 2**16))
async def test_a_shipment_reference_exists_at_most_once(plan: list[dict[str, Any]], lookup: bool, seed: int) -> None:
    sim, carrier = make(plan, lookup, seed)
    try:
        booking = await carrier.create_shipment(example_shipment_request("REF-1"))
    except CarrierAmbiguousError:
        assert len(sim.shipments_for("REF-1")) <= 1
    except CarrierError:
        assert sim.shipments_for("REF-1") == []  # a definite failure: nothing was booked
    else:
        assert sim.shipments_for("REF-1") == [booking]


@settings(max_examples=100, deadline=None)
@given(plan=steps("schedule_pickup", "find_pickup"), lookup=st.booleans(), seed=st.integers(0, 2**16))
async def test_a_pickup_reference_exists_at_most_once(plan: list[dict[str, Any]], lookup: bool, seed: int) -> None:
    sim, carrier = make(plan, lookup, seed)
    try:
        booking = await carrier.schedule_pickup(example_pickup_request("REF-1"))
    except CarrierAmbiguousError:
        assert len(sim.pickups_for("REF-1")) <= 1
    except CarrierError:
        assert sim.pickups_for("REF-1") == []
    else:
        assert sim.pickups_for("REF-1") == [booking]
