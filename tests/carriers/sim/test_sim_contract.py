"""The simulated carrier, bare and behind the resilience layer, passes the adapter contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest

from carriers.base import CarrierAdapter
from carriers.models import Capability, PickupRequest, ShipmentRequest, TrackingStatus
from carriers.resilience import CallPolicy, ResilientCarrier
from carriers.sim import SimCarrier, SimSettings, is_valid_tracking_number, make_tracking_number, sign_push
from carriers.sim.push import push_body
from carriers.sim.timeline import make_event
from carriers.testing import (
    EXAMPLE_START,
    CarrierContract,
    example_pickup_request,
    example_shipment_request,
)
from tests.support.clock import ManualClock


async def _no_sleep(_: float) -> None:
    return None


class SimHooks(CarrierContract):
    clock: ManualClock

    def pickup_request(self, reference: str) -> PickupRequest:
        return example_pickup_request(reference)

    def shipment_request(self, reference: str, *, is_return: bool = False) -> ShipmentRequest:
        return example_shipment_request(reference, is_return=is_return)

    def unknown_tracking_number(self) -> str:
        return make_tracking_number("5SIM01", "11", 9_999_999)

    def is_valid_tracking_number(self, number: str) -> bool:
        return is_valid_tracking_number(number)

    def signed_push(self, tracking_number: str) -> tuple[Mapping[str, str], bytes] | None:
        event = make_event(tracking_number, "IT", self.clock.now(), "Sorting hub")
        body = push_body([event])
        return sign_push("contract-secret", body, int(self.clock.now().timestamp())), body

    def make_sim(self, capabilities: frozenset[Capability] = frozenset(Capability)) -> SimCarrier:
        self.clock = ManualClock(EXAMPLE_START)
        settings = SimSettings.model_validate({"push_secret": "contract-secret"})
        return SimCarrier(settings, clock=self.clock, sleep=_no_sleep, capabilities=capabilities)


class TestSimContract(SimHooks):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[CarrierAdapter]:
        sim = self.make_sim()
        yield sim
        await sim.aclose()


class TestResilientSimContract(SimHooks):
    """The wrapper implements the same protocol: it must pass the same contract."""

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[CarrierAdapter]:
        carrier = ResilientCarrier(self.make_sim(), CallPolicy(), sleep=_no_sleep)
        yield carrier
        await carrier.aclose()


class TestTrackOnlySimContract(SimHooks):
    """A carrier declaring only tracking refuses everything else with CarrierNotSupported."""

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[CarrierAdapter]:
        sim = self.make_sim(frozenset({Capability.TRACK}))
        yield sim
        await sim.aclose()


async def test_contract_detects_a_wrong_status_mapping() -> None:
    """The contract's event checks can fail: an event with a foreign carrier name is caught."""
    hooks = SimHooks()
    sim = hooks.make_sim()
    booking = await sim.create_shipment(example_shipment_request("CT-WRONG"))
    (result,) = await sim.track(booking.tracking_numbers)
    bad = result.events[0].model_copy(update={"carrier": "other"})
    with pytest.raises(AssertionError):
        hooks._check_event(sim, bad, booking.tracking_numbers[0])
    assert result.events[0].status is TrackingStatus.LABEL_CREATED
