"""Fixtures for the DHL Express adapter tests: DHL's spec (parsed once), the fake server, the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from carriers.base import CarrierContext
from carriers.dhl_express import PLUGIN
from carriers.dhl_express.adapter import DhlExpressAdapter
from carriers.dhl_express.settings import DhlExpressSettings
from tests.carriers.dhl_express.builders import START, SleepRecorder, settings_for
from tests.fakes.dhl_server import FakeDhlServer, MyDhlSpec, load_spec, spec_path
from tests.support.clock import ManualClock


@pytest.fixture(scope="session")
def dhl_spec() -> MyDhlSpec:
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"DHL's MyDHL API spec is missing: expected shared/carrier-specs/{path.name} beside the repository")
    return load_spec(path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def fake_dhl(dhl_spec: MyDhlSpec, clock: ManualClock) -> AsyncIterator[FakeDhlServer]:
    server = FakeDhlServer(dhl_spec, clock=clock.now)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    # Every request the adapter sent must have matched DHL's spec; tests that break it on purpose clear this.
    assert server.violations == [], server.violations


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def dhl_settings(fake_dhl: FakeDhlServer) -> DhlExpressSettings:
    return settings_for(fake_dhl, return_payer_account_number="987654321")


@pytest.fixture
def context(http_session: aiohttp.ClientSession, clock: ManualClock, sleeps: SleepRecorder) -> CarrierContext:
    return CarrierContext(session=http_session, clock=clock, sleep=sleeps)


@pytest.fixture
def adapter(dhl_settings: DhlExpressSettings, context: CarrierContext) -> DhlExpressAdapter:
    built = PLUGIN.factory(dhl_settings, context)
    assert isinstance(built, DhlExpressAdapter)
    return built
