"""Fixtures for the UPS adapter tests: a fake UPS on 127.0.0.1, a manual clock, and the adapter under test.

Every test fails if the adapter sent a request that does not match UPS's published schemas, or if the fake
answered outside them (the fake records both).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:  # ``tests.fakes`` lives beside the packages, not inside an installed one
    sys.path.insert(0, _ROOT)

from carriers.base import CarrierContext  # noqa: E402
from carriers.testing import EXAMPLE_START  # noqa: E402
from carriers.ups import PLUGIN  # noqa: E402
from carriers.ups.client import UpsAdapter  # noqa: E402
from carriers.ups.settings import UpsSettings  # noqa: E402
from tests.fakes.ups_server import SPEC_DIR, FakeUps, specs_available, warm_up  # noqa: E402
from tests.support.clock import ManualClock  # noqa: E402

WEBHOOK_CREDENTIAL = "track-alert-credential-0123456789"
SHIPPER_NUMBER = "A1B2C3"


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EXAMPLE_START)


@pytest.fixture(scope="session")
def ups_specs() -> None:
    if not specs_available():
        pytest.skip(f"UPS's OpenAPI documents are missing: expected them in {SPEC_DIR} (beside the repository)")
    warm_up()


@pytest.fixture
async def fake(ups_specs: None, clock: ManualClock) -> AsyncIterator[FakeUps]:
    server = FakeUps(clock=clock.now, account_number=SHIPPER_NUMBER)
    async with server:
        yield server
    assert server.schema_violations == [], "the adapter sent requests outside UPS's schemas"
    assert server.response_violations == [], "the fake answered outside UPS's schemas"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def settings(fake: FakeUps) -> UpsSettings:
    return UpsSettings(
        base_url=fake.base_url,
        client_id=SecretStr(fake.client_id),
        client_secret=SecretStr(fake.client_secret),
        account_number=SHIPPER_NUMBER,
        shipper_number=SHIPPER_NUMBER,
        webhook_credential=SecretStr(WEBHOOK_CREDENTIAL),
        request_timeout_s=2.0,  # the fake validates every body; on a busy CI machine that can take a while
    )


@pytest.fixture
async def adapter(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock
) -> AsyncIterator[UpsAdapter]:
    built = PLUGIN.factory(settings, CarrierContext(session=session, clock=clock, sleep=_no_sleep))
    assert isinstance(built, UpsAdapter)
    yield built
    await built.aclose()  # Track Alert subscriptions under way end before the session does
