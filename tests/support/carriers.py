"""The service wired to each carrier for journey tests: the simulator, or a real adapter against its fake.

``carrier_service(name, ...)`` runs the real application with the coverage pointed at one carrier for every
region (pickups, self-shipments and returns) and, for UPS and DHL Express, the real adapter talking to the
fake carrier server, which validates every request against the carrier's official API description. The
returned ``CarrierDriver`` plays the carrier's side of a journey the way that carrier does it: the simulator
and UPS push (a signed push, a Track Alert POST), DHL Express is polled (MyDHL has no push).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest

from carriers.resilience import ResilientCarrier
from carriers.sim.adapter import SimCarrier
from logistics.coverage import SAMPLE_COVERAGE_PATH
from tests.fakes.dhl_server import FakeDhlServer, load_spec, spec_path
from tests.fakes.ups_server import FakeUps, Scan, specs_available, warm_up
from tests.support.clock import ManualClock
from tests.support.journeys import push, scan
from tests.support.service import Service, running_service

CARRIERS = ("sim", "ups", "dhl_express")
UPS_SHIPPER = "A1B2C3"
UPS_WEBHOOK_CREDENTIAL = "track-alert-credential-0123456789"

Milestone = Literal["picked_up", "dropped_off", "in_transit", "delivered"]

_SIM_CODES: dict[Milestone, str] = {"picked_up": "PU", "dropped_off": "DO", "in_transit": "IT", "delivered": "DL"}
_DHL_CODES: dict[Milestone, str] = {"picked_up": "PU", "dropped_off": "SA", "in_transit": "PL", "delivered": "OK"}
_UPS_SCANS: dict[Milestone, tuple[str, str, str]] = {
    "picked_up": ("I", "PU", "Pickup Scan"),  # Track Alert has no type P: the description tells
    "dropped_off": ("I", "DP", "Dropped-off at a UPS Access Point"),
    "in_transit": ("I", "AR", "Arrived at Facility"),
    "delivered": ("D", "KB", "DELIVERED"),
}


def coverage_for(carrier: str, tmp_path: Path) -> Path:
    """The sample coverage with every region's pickups, self-shipments and returns on ``carrier``."""
    text = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^    carriers: \[.*\]$", "    carriers: [sim, ups, dhl_express]", text)
    for sample_carrier in ("sim", "colissimo"):  # the sample's French regions ship with Colissimo
        text = text.replace(f"    carrier: {sample_carrier}\n", f"    carrier: {carrier}\n")
        text = text.replace(f"    return_carrier: {sample_carrier}\n", f"    return_carrier: {carrier}\n")
    path = tmp_path / f"coverage-{carrier}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class CarrierDriver:
    """The carrier's side of a journey, and what the carrier holds."""

    name: str
    service: Service
    ups: FakeUps | None = None
    dhl: FakeDhlServer | None = None
    reports: list[str] = field(default_factory=list)

    async def report(self, tracking_number: str, milestone: Milestone, at: datetime, place: str = "Paris") -> None:
        """The carrier scans the parcel and tells the service: a push, or an answer to the next poll."""
        if self.ups is not None:
            kind, code, description = _UPS_SCANS[milestone]
            record = Scan(at, kind, code, description, place.upper(), "FR")
            self.ups.add_scan(tracking_number, record)
            headers, body = self.ups.track_alert(
                tracking_number, record, credential=UPS_WEBHOOK_CREDENTIAL, delivered=milestone == "delivered"
            )
            status, answer, _ = await self.service.call(
                "POST", "/v1/carriers/ups/events", None, data=body, headers=headers
            )
            assert status == 202, answer
        elif self.dhl is not None:
            # DHL's facilities scan in their own wall time (GET /tracking gives it without an offset).
            local = at.astimezone(ZoneInfo("Europe/Paris"))
            self.dhl.scan(tracking_number, _DHL_CODES[milestone], local, area=("CDG", f"{place.upper()}-FR"))
            assert await self.service.services.poller.poll_due() >= 1
        else:
            assert (await push(self.service, [scan(tracking_number, _SIM_CODES[milestone], at, place)]))[0] == 202

    def shipments(self, reference: str) -> int:
        """Shipments the carrier holds under our reference (the simulator: not counted, -1)."""
        if self.ups is not None:
            return len(self.ups.shipment_bookings(reference))
        if self.dhl is not None:
            return self.dhl.booking_count(reference, "shipment")
        return -1

    def live_pickups(self, reference: str) -> list[str]:
        """Confirmation numbers of the pickups booked under ``reference`` that the carrier has not cancelled."""
        if self.ups is not None:
            return [p.prn for p in self.ups.pickups.values() if p.reference == reference and not p.cancelled]
        if self.dhl is not None:
            return [b.number for b in self.dhl.bookings[reference] if b.kind == "pickup" and not b.cancelled]
        wrapped = self.service.services.carriers["sim"]
        assert isinstance(wrapped, ResilientCarrier) and isinstance(wrapped.adapter, SimCarrier)
        return [p.confirmation for p in wrapped.adapter.pickups_for(reference)]

    def check_wire(self) -> None:
        """The fake saw only requests within the carrier's published schemas, and answered within them."""
        if self.ups is not None:
            assert self.ups.schema_violations == [], self.ups.schema_violations
            assert self.ups.response_violations == [], self.ups.response_violations
        if self.dhl is not None:
            assert self.dhl.violations == [], self.dhl.violations


def skip_without_specs(carrier: str) -> None:
    if carrier == "ups" and not specs_available():
        pytest.skip("UPS's OpenAPI documents are missing (shared/carrier-specs beside the repository)")
    if carrier == "dhl_express" and not spec_path().is_file():
        pytest.skip("DHL's MyDHL API spec is missing (shared/carrier-specs beside the repository)")


def ups_settings(fake: FakeUps, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": fake.base_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "account_number": UPS_SHIPPER,
        "shipper_number": UPS_SHIPPER,
        "webhook_credential": UPS_WEBHOOK_CREDENTIAL,
        "request_timeout_s": 2.0,
        **overrides,
    }


def dhl_settings(fake: FakeDhlServer, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": fake.base_url,
        "api_key": "fake-key",
        "api_secret": "fake-secret",
        "account_number": fake.account_number,
        "timeout_seconds": 2.0,
        **overrides,
    }


@dataclass
class FakeCarrier:
    """The fake server of one carrier (none for the simulator), kept across restarts of the service."""

    name: str
    ups: FakeUps | None = None
    dhl: FakeDhlServer | None = None

    def settings(self, **overrides: Any) -> dict[str, dict[str, Any]]:
        """The service's ``carriers`` setting: the simulator and this carrier, pointed at its fake."""
        enabled: dict[str, dict[str, Any]] = {"sim": {}}
        if self.ups is not None:
            enabled["ups"] = ups_settings(self.ups, **overrides)
        if self.dhl is not None:
            enabled["dhl_express"] = dhl_settings(self.dhl, **overrides)
        return enabled


@asynccontextmanager
async def fake_carrier(carrier: str, clock: ManualClock) -> AsyncIterator[FakeCarrier]:
    skip_without_specs(carrier)
    if carrier == "ups":
        warm_up()
        async with FakeUps(clock=clock.now, account_number=UPS_SHIPPER) as ups:
            yield FakeCarrier(carrier, ups=ups)
    elif carrier == "dhl_express":
        dhl = FakeDhlServer(load_spec(), clock=clock.now)
        dhl.reference_search_lag = timedelta(minutes=20)  # as DHL's own index: 10 to 30 minutes
        await dhl.start()
        try:
            yield FakeCarrier(carrier, dhl=dhl)
        finally:
            await dhl.stop()
    else:
        yield FakeCarrier(carrier)


@asynccontextmanager
async def service_on(
    fake: FakeCarrier,
    tmp_path: Path,
    clock: ManualClock,
    *,
    carrier_settings: dict[str, Any] | None = None,
    refused_credentials: bool = False,
    **overrides: Any,
) -> AsyncIterator[CarrierDriver]:
    """The service (on the database in ``tmp_path``) with every region on the fake's carrier.
    ``refused_credentials``: the settings are wrong on purpose, and the fake's record of it is expected."""
    values = {
        "carriers": fake.settings(**(carrier_settings or {})),
        "coverage_path": coverage_for(fake.name, tmp_path),
        **overrides,
    }
    async with running_service(tmp_path, clock, **values) as service:
        driver = CarrierDriver(fake.name, service, ups=fake.ups, dhl=fake.dhl)
        yield driver
        if refused_credentials and fake.dhl is not None:
            fake.dhl.violations[:] = [v for v in fake.dhl.violations if "wrong Basic credentials" not in v]
        driver.check_wire()


@asynccontextmanager
async def carrier_service(
    carrier: str,
    tmp_path: Path,
    clock: ManualClock,
    *,
    carrier_settings: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[CarrierDriver]:
    """The service with every region on ``carrier``; UPS and DHL Express answered by their fakes."""
    async with (
        fake_carrier(carrier, clock) as fake,
        service_on(fake, tmp_path, clock, carrier_settings=carrier_settings, **overrides) as driver,
    ):
        yield driver
