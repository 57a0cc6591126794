"""Setting a carrier up: its settings are checked before the service serves (one line per problem, naming
the setting), ``logistics carriers check`` proves each carrier accepts them, and /health shows each
carrier's breaker without failing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from carriers.registry import CarrierRegistry
from carriers.resilience import ResilientCarrier
from logistics.cli import main
from tests.support.carriers import FakeCarrier, carrier_service, fake_carrier
from tests.support.clock import ManualClock

BAD: dict[str, tuple[dict[str, Any], list[str]]] = {
    "ups": (
        {"client_secret": None, "base_url": "onlinetools.ups.com", "shipper_number": "A1B2C3D4"},
        ["carriers.ups.base_url", "carriers.ups.client_secret", "carriers.ups.shipper_number"],
    ),
    "dhl_express": (
        {"account_number": "1234567890123", "shipping_time_zone": "Mars/Olympus"},
        ["carriers.dhl_express.account_number", "carriers.dhl_express.shipping_time_zone"],
    ),
}


def _configured(fake: FakeCarrier, **overrides: Any) -> dict[str, dict[str, Any]]:
    settings = fake.settings()
    own = settings[fake.name]
    for key, value in overrides.items():
        if value is None:
            own.pop(key, None)
        else:
            own[key] = value
    return settings


async def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, carriers: dict[str, Any], tmp_path: Path) -> int:
    monkeypatch.setenv("LOGISTICS_CARRIERS", json.dumps(carriers))
    monkeypatch.setenv("LOGISTICS_DATABASE_PATH", str(tmp_path / "unused.db"))
    # The command runs its own event loop, as from a shell; the fake carrier keeps serving on this one.
    return await asyncio.to_thread(main, argv)


@pytest.mark.parametrize("name", ["ups", "dhl_express"])
async def test_settings_are_checked_one_line_per_problem_naming_the_setting(
    name: str, tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = CarrierRegistry.discover()
    async with fake_carrier(name, clock) as fake:
        assert registry.settings_problems(_configured(fake)) == []
        overrides, named = BAD[name]
        bad = _configured(fake, **overrides)
        problems = registry.settings_problems(bad)
        assert [problem.split(":")[0] for problem in problems] == named
        assert all(str(value) not in " ".join(problems) for value in fake.settings()[name].values() if value)

        assert await _cli(["serve"], monkeypatch, bad, tmp_path) == 2  # stops before serving
        err = capsys.readouterr().err
        assert err.splitlines() == [f"logistics: setting {problem}" for problem in problems]
        assert "Traceback" not in err


@pytest.mark.parametrize("name", ["ups", "dhl_express"])
async def test_carriers_check_gives_a_verdict_per_carrier(
    name: str, tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fake_carrier(name, clock) as fake:
        assert await _cli(["carriers", "check"], monkeypatch, _configured(fake), tmp_path) == 0
        lines = capsys.readouterr().out.splitlines()
        assert sorted(line.split()[:2] for line in lines) == sorted([[name, "ok"], ["sim", "ok"]])

        secret = "client_secret" if name == "ups" else "api_secret"
        wrong = _configured(fake, **{secret: "not-the-secret"})
        assert await _cli(["carriers", "check"], monkeypatch, wrong, tmp_path) == 1
        verdicts = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
        assert verdicts["sim"].split()[1] == "ok" and verdicts[name].split()[1] == "FAILED"
        assert "credentials refused" in verdicts[name] and "not-the-secret" not in verdicts[name]

        overrides, named = BAD[name]
        assert await _cli(["carriers", "check"], monkeypatch, _configured(fake, **overrides), tmp_path) == 1
        line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
        assert line.split()[1] == "FAILED" and named[0] in line
        if fake.dhl is not None:  # the wrong secret was refused, as the check meant it to be
            fake.dhl.violations.clear()
        if fake.ups is not None:
            assert fake.ups.shipments == {} and fake.ups.pickups == {}  # nothing booked by a check
        else:
            assert fake.dhl is not None and not fake.dhl.shipments


async def test_health_reports_each_carriers_breaker_without_failing(tmp_path: Path, clock: ManualClock) -> None:
    async with carrier_service("ups", tmp_path, clock) as driver:
        status, health, _ = await driver.service.call("GET", "/health", None)
        assert status == 200
        assert health["checks"]["carrier:ups"] == health["checks"]["carrier:sim"] == "breaker closed"
        ups = driver.service.services.carriers["ups"]
        assert isinstance(ups, ResilientCarrier)
        for _ in range(10):
            ups.breaker.record_failure(False)
        status, health, _ = await driver.service.call("GET", "/health", None)
        assert status == 200 and health["status"] == "ok"
        assert health["checks"]["carrier:ups"] == "breaker open"
