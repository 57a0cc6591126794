"""Fixtures for the Colissimo adapter tests: Colissimo's SLS description (parsed once), the fake, the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from carriers.base import CarrierContext
from carriers.colissimo import PLUGIN
from carriers.colissimo.adapter import ColissimoAdapter
from carriers.colissimo.settings import ColissimoSettings
from tests.carriers.colissimo.builders import START, SleepRecorder, settings_for
from tests.fakes.colissimo_server import FakeColissimoServer, SlsSpec, load_spec, spec_path
from tests.support.clock import ManualClock


@pytest.fixture(scope="session")
def sls_spec() -> SlsSpec:
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"Colissimo's SLS description is missing: expected shared/carrier-specs/{path.name}")
    return load_spec(path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def fake_colissimo(sls_spec: SlsSpec, clock: ManualClock) -> AsyncIterator[FakeColissimoServer]:
    server = FakeColissimoServer(sls_spec, clock=clock.now)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    # Every request the adapter sent must have matched the description; tests that break it clear this.
    assert server.violations == [], server.violations


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def colissimo_settings(fake_colissimo: FakeColissimoServer) -> ColissimoSettings:
    return settings_for(fake_colissimo)


@pytest.fixture
def context(http_session: aiohttp.ClientSession, clock: ManualClock, sleeps: SleepRecorder) -> CarrierContext:
    return CarrierContext(session=http_session, clock=clock, sleep=sleeps)


@pytest.fixture
def adapter(colissimo_settings: ColissimoSettings, context: CarrierContext) -> ColissimoAdapter:
    built = PLUGIN.factory(colissimo_settings, context)
    assert isinstance(built, ColissimoAdapter)
    return built
