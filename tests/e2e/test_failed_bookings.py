"""Bookings that fail an operator can recover: the reason is in the answer, and once the cause is fixed a
restart, the operator's API or ``logistics bookings retry`` books each one exactly once."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logistics.cli import main
from tests.fakes.dhl_server import Fault as DhlFault
from tests.fakes.ups_server import Fault as UpsFault
from tests.support.carriers import CarrierDriver, FakeCarrier, fake_carrier, service_on
from tests.support.clock import ManualClock
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request

REAL = ("ups", "dhl_express")
WRONG_SECRET = {"ups": {"client_secret": "not-the-secret"}, "dhl_express": {"api_secret": "not-the-secret"}}
CASES = (("C-AUTH-1", PARIS_SITE), ("C-AUTH-2", CORSICA_SITE), ("C-AUTH-3", {**PARIS_SITE, "postal_code": "75012"}))


async def _create_failing(carrier: CarrierDriver) -> list[str]:
    ids = []
    for case, site in CASES:
        status, created, _ = await carrier.service.call("POST", "/v1/repairs", json=repair_request(site, case))
        assert status == 202, created  # not booked: the answer says why
        inbound = created["repair"]["inbound"]
        assert inbound["booking"] == "failed" and inbound["status"] == "booking_pending"
        assert inbound["last_error"].startswith("CarrierAuthError:")
        _, shown, _ = await carrier.service.call("GET", f"/v1/repairs/{created['repair']['id']}")
        assert shown["inbound"]["booking"] == "failed" and shown["inbound"]["last_error"] == inbound["last_error"]
        assert [flag["code"] for flag in shown["flags"]] == ["booking.failed"]
        ids.append(created["repair"]["id"])
    status, metrics, _ = await carrier.service.call("GET", "/metrics", "operator")
    text = metrics.decode()
    assert (
        f'logistics_carrier_calls_total{{carrier="{carrier.name}",operation="create_shipment",outcome="auth_refused"}}'
        in text
    )
    assert 'outcome="permanent"' not in text  # a refused credential is not counted as a rejection
    return ids


async def _all_booked_once(carrier: CarrierDriver, ids: list[str]) -> None:
    for repair_id in ids:
        _, repair, _ = await carrier.service.call("GET", f"/v1/repairs/{repair_id}")
        inbound = repair["inbound"]
        assert inbound["booking"] == "booked" and inbound["last_error"] is None, inbound
        assert inbound["tracking_number"]
        assert [flag["cleared_at"] is not None for flag in repair["flags"]] == [True]
        assert carrier.shipments(f"{repair_id}-in") == 1
        if inbound["method"] == "courier_pickup":
            assert inbound["status"] == "pickup_scheduled"
            assert len(carrier.live_pickups(f"{repair_id}-in-p1")) == 1


def _fake_bookings(fake: FakeCarrier) -> int:
    if fake.ups is not None:
        return len(fake.ups.shipments)
    assert fake.dhl is not None
    return len(fake.dhl.shipments)


@pytest.mark.parametrize("name", REAL)
async def test_wrong_credentials_fail_with_a_reason_and_a_restart_with_the_fix_books_each_once(
    name: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with fake_carrier(name, clock) as fake:
        async with service_on(
            fake, tmp_path, clock, carrier_settings=WRONG_SECRET[name], refused_credentials=True
        ) as wrong:
            ids = await _create_failing(wrong)
            clock.advance(minutes=5)
            await wrong.service.services.bookings.run_due()  # failed for good: not retried on its own
        assert _fake_bookings(fake) == 0
        async with service_on(fake, tmp_path, clock) as fixed:  # the start-up re-queues them
            assert await fixed.service.services.bookings.run_due() == len(ids)
            await _all_booked_once(fixed, ids)
        async with service_on(fake, tmp_path, clock) as again:  # another restart books nothing more
            assert await again.service.services.bookings.run_due() == 0
        assert _fake_bookings(fake) == len(ids)


def _reject_next_shipments(fake: FakeCarrier, count: int) -> None:
    """The carrier refuses the next shipments outright (say, a shipper account not yet opened for them)."""
    if fake.ups is not None:
        fake.ups.inject("create_shipment", *[UpsFault("reject", code="120100", message="Invalid shipper")] * count)
    else:
        assert fake.dhl is not None
        fake.dhl.inject("create_shipment", *[DhlFault.rejected("420: Account not valid")] * count)


@pytest.mark.parametrize("name", REAL)
async def test_an_operator_retries_failed_bookings_by_repair_carrier_or_all(
    name: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with fake_carrier(name, clock) as fake, service_on(fake, tmp_path, clock) as carrier:
        _reject_next_shipments(fake, len(CASES) + 1)
        ids = []
        for case, site in CASES:
            status, created, _ = await carrier.service.call("POST", "/v1/repairs", json=repair_request(site, case))
            assert status == 202 and created["repair"]["inbound"]["booking"] == "failed"
            assert created["repair"]["inbound"]["last_error"].startswith("CarrierRejected:")
            ids.append(created["repair"]["id"])
        status, problem, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "case_system", json={"all": True}
        )
        assert status == 403 and problem["code"] == "auth.role_forbidden"
        status, problem, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "operator", json={"all": True, "carrier": name}
        )
        assert status == 422
        # Retried before the carrier side is fixed: failed again, with one open flag and the reason.
        status, answer, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "operator", json={"repair_id": ids[0]}
        )
        assert status == 200 and [item["status"] for item in answer["retried"]] == ["failed"]
        assert answer["retried"][0]["last_error"].startswith("CarrierRejected:")
        _, shown, _ = await carrier.service.call("GET", f"/v1/repairs/{ids[0]}")
        assert [flag["code"] for flag in shown["flags"]] == ["booking.failed"]

        # Fixed: one repair, then the carrier's, then all (nothing left).
        status, answer, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "operator", json={"repair_id": ids[0]}
        )
        assert [(item["repair_id"], item["status"]) for item in answer["retried"]] == [(ids[0], "done")]
        status, answer, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "operator", json={"carrier": name}
        )
        assert sorted((item["repair_id"], item["status"]) for item in answer["retried"]) == sorted(
            (repair_id, "done") for repair_id in ids[1:]
        )
        status, answer, _ = await carrier.service.call(
            "POST", "/v1/admin/bookings/retry", "operator", json={"all": True}
        )
        assert status == 200 and answer["retried"] == []
        await _all_booked_once(carrier, ids)
        assert _fake_bookings(fake) == len(ids)


async def test_the_retry_command_requeues_failed_bookings_for_the_service(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.set(datetime.now(UTC).replace(microsecond=0))  # the command re-queues on the wall clock
    async with fake_carrier("ups", clock) as fake:
        async with service_on(
            fake, tmp_path, clock, carrier_settings=WRONG_SECRET["ups"], refused_credentials=True
        ) as wrong:
            ids = await _create_failing(wrong)
        monkeypatch.setenv("LOGISTICS_DATABASE_PATH", str(tmp_path / "logistics.db"))
        assert await _run_cli(["bookings", "retry", "--repair", ids[1]]) == 0
        out = capsys.readouterr().out
        assert f"{ids[1]}-in" in out and "1 failed booking(s) put back" in out
        with sqlite3.connect(tmp_path / "logistics.db") as db:
            statuses = dict(db.execute("SELECT repair_id, status FROM booking_intents").fetchall())
        assert statuses == {ids[0]: "failed", ids[1]: "pending", ids[2]: "failed"}
        clock.advance(minutes=1)
        async with service_on(fake, tmp_path, clock) as fixed:
            await fixed.service.services.bookings.run_due()
            _, first, _ = await fixed.service.call("GET", f"/v1/repairs/{ids[1]}")
            assert first["inbound"]["booking"] == "booked"
            await _all_booked_once(fixed, ids)  # the rest: re-queued at start-up, booked by the same run
        assert _fake_bookings(fake) == len(ids)


async def _run_cli(argv: list[str]) -> Any:
    import asyncio

    # The command runs its own event loop, as it does from a shell: off this test's loop.
    return await asyncio.to_thread(main, argv)
