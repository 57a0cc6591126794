"""Carrier pushes: bad ones get clear 4xx answers and change nothing; duplicates are counted and ignored."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from carriers import Capability
from carriers.sim.push import sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET
from tests.support.journeys import PARIS_SITE, push, repair_request, scan
from tests.support.service import Service
from tests.support.snapshot import database_digest


async def _tracking_number(service: Service) -> str:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-PUSH"))
    return str(created["repair"]["inbound"]["tracking_number"])


async def _raw(service: Service, body: bytes, headers: dict[str, str], carrier: str = "sim") -> tuple[int, dict]:  # type: ignore[type-arg]
    status, answer, _ = await service.call(
        "POST",
        f"/v1/carriers/{carrier}/events",
        None,
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json", **headers},
    )
    return status, answer


async def test_bad_pushes_are_refused_and_change_nothing(service: Service) -> None:
    number = await _tracking_number(service)
    now = service.clock.now()
    good = json.dumps({"events": [scan(number, "PU", now)]}).encode()
    stamp = int(now.timestamp())
    cases = [
        ("wrong signature", good, sign_push("not-the-secret", good, stamp), 401, "carrier.push_auth"),
        ("no signature", good, {}, 401, "carrier.push_auth"),
        ("replayed too late", good, sign_push(DEVELOPMENT_PUSH_SECRET, good, stamp - 3600), 401, "carrier.push_auth"),
        (
            "malformed body",
            b'{"events": [{"code": ',
            sign_push(DEVELOPMENT_PUSH_SECRET, b'{"events": [{"code": ', stamp),
            400,
            "carrier.push_malformed",
        ),
        (
            "event time with no UTC equivalent",
            (
                far := json.dumps({"events": [scan(number, "PU", now) | {"occurred_at": "9999-12-31T23:59:59-14:00"}]})
            ).encode(),
            sign_push(DEVELOPMENT_PUSH_SECRET, far.encode(), stamp),
            400,
            "carrier.push_malformed",
        ),
        (
            "oversized body",
            (big := b'{"events": [], "pad": "' + b"x" * (300 * 1024) + b'"}'),
            sign_push(DEVELOPMENT_PUSH_SECRET, big, stamp),
            413,
            "request.too_large",
        ),
    ]
    before = database_digest(service.services.settings.database_path)
    for name, body, headers, status, code in cases:
        got, problem = await _raw(service, body, headers)
        assert (got, problem["code"]) == (status, code), name
        assert problem["detail"], name
    got, problem = await _raw(service, good, sign_push(DEVELOPMENT_PUSH_SECRET, good, stamp), carrier="nope")
    assert got == 404 and problem["code"] == "carrier.not_found"
    assert database_digest(service.services.settings.database_path) == before


async def test_duplicates_and_late_events(service: Service) -> None:
    number = await _tracking_number(service)
    t = service.clock.advance(days=1) - timedelta(hours=2)
    assert await push(service, [scan(number, "PU", t), scan(number, "IT", t + timedelta(hours=2))]) == (
        202,
        {"accepted": 2, "duplicates": 0, "refused": []},
    )
    assert await push(service, [scan(number, "PU", t)]) == (202, {"accepted": 0, "duplicates": 1, "refused": []})
    # A late, earlier scan is stored and recorded, and moves nothing backwards.
    assert (await push(service, [scan(number, "LC", t - timedelta(hours=5))]))[1]["accepted"] == 1
    status, repairs, _ = await service.call("GET", "/v1/repairs")
    assert status == 200
    repair = repairs["items"][0]
    assert repair["state"] == "in_transit_to_centre" and repair["inbound"]["status"] == "in_transit"
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    assert history["items"][-1]["kind"] == "ignored_event"


async def test_a_carrier_that_does_not_push_has_no_push_endpoint(service: Service) -> None:
    """DHL Express, for one, is polled: a push to it is a 404 like a push to an unknown carrier, not a 500."""
    number = await _tracking_number(service)
    wrapped = service.services.carriers["sim"]
    wrapped.capabilities = wrapped.capabilities - {Capability.PUSH_EVENTS}
    before = database_digest(service.services.settings.database_path)
    body = json.dumps({"events": [scan(number, "PU", service.clock.now())]}).encode()
    status, problem = await _raw(service, body, {"Content-Type": "application/json"})
    assert status == 404 and problem["code"] == "carrier.not_found"
    assert database_digest(service.services.settings.database_path) == before


async def _repair(service: Service, number: str) -> dict:  # type: ignore[type-arg]
    status, repairs, _ = await service.call("GET", "/v1/repairs")
    assert status == 200
    return next(r for r in repairs["items"] if r["inbound"]["tracking_number"] == number)


async def _notified(service: Service, repair_id: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    queued = await service.services.store.reader().due_notifications(service.clock.now() + timedelta(days=400), 1000)
    return [(n.type, n.payload) for n in queued if n.repair_id == repair_id]


async def test_a_push_mixing_known_and_unknown_numbers_stores_the_known_and_lists_the_others(service: Service) -> None:
    number = await _tracking_number(service)
    t = service.clock.advance(hours=2)
    unknown = "1ZUNKNOWN0000000001"
    status, answer = await push(
        service, [scan(number, "PU", t), scan(unknown, "PU", t), scan(number, "IT", t + timedelta(minutes=5))]
    )
    assert status == 202
    assert (answer["accepted"], answer["duplicates"]) == (2, 0)
    assert [(r["tracking_number"], r["code"]) for r in answer["refused"]] == [(unknown, "tracking.unknown_number")]
    assert answer["refused"][0]["event_id"] and answer["refused"][0]["reason"]
    repair = await _repair(service, number)
    assert repair["state"] == "in_transit_to_centre" and repair["inbound"]["status"] == "in_transit"
    _, custody, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/custody")
    assert [row["what"] for row in custody["items"] if row["source"].startswith("sim:")] == ["picked_up", "in_transit"]


async def test_a_push_naming_only_unknown_numbers_is_answered_per_event_and_changes_nothing(service: Service) -> None:
    await _tracking_number(service)
    before = database_digest(service.services.settings.database_path)
    status, answer = await push(service, [scan("1ZUNKNOWN0000000001", "PU", service.clock.now())])
    assert status == 202 and answer["accepted"] == 0
    assert [r["code"] for r in answer["refused"]] == ["tracking.unknown_number"]
    assert database_digest(service.services.settings.database_path) == before


async def test_a_future_dated_event_is_refused_and_a_following_exception_is_flagged_and_notified(
    service: Service,
) -> None:
    number = await _tracking_number(service)
    now = service.clock.advance(hours=3)
    await push(service, [scan(number, "PU", now)])
    status, answer = await push(service, [scan(number, "IT", now + timedelta(days=400))])
    assert status == 202 and answer["accepted"] == 0
    (refusal,) = answer["refused"]
    assert refusal["code"] == "tracking.event_in_future"
    assert "400 days" in refusal["reason"] and "15 min" in refusal["reason"]
    # Within the tolerance, a little clock drift is accepted.
    assert (await push(service, [scan(number, "IT", now + timedelta(minutes=10))]))[1]["accepted"] == 1
    service.clock.advance(hours=1)
    assert (await push(service, [scan(number, "EX", service.clock.now())]))[1]["accepted"] == 1
    repair = await _repair(service, number)
    assert [f["code"] for f in repair["flags"] if f.get("cleared_at") is None] == ["carrier.exception"]
    notified = await _notified(service, repair["id"])
    assert [payload["state"] for kind, payload in notified if kind == "repair.exception"] == ["in_transit_to_centre"]


async def test_an_event_dated_long_before_the_leg_existed_is_kept_but_rewinds_nothing(service: Service) -> None:
    number = await _tracking_number(service)
    now = service.clock.advance(hours=3)
    await push(service, [scan(number, "IT", now)])
    assert (await push(service, [scan(number, "PU", now - timedelta(days=700))]))[1]["accepted"] == 1
    repair = await _repair(service, number)
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/events")
    assert history["items"][-1]["kind"] == "ignored_event"
    assert history["items"][-1]["details"]["why"] == "dated before the leg existed"
    _, found, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert found["inbound"]["status"] == "in_transit"


async def test_a_carrier_scan_on_a_cancelled_repair_raises_a_flag_and_notifies(service: Service) -> None:
    number = await _tracking_number(service)
    repair = await _repair(service, number)
    status, _, _ = await service.call("POST", f"/v1/repairs/{repair['id']}/cancel", json={"reason": "fixed remotely"})
    assert status == 200
    service.clock.advance(hours=5)
    assert (await push(service, [scan(number, "PU", service.clock.now())]))[1]["accepted"] == 1
    repair = await _repair(service, number)
    assert repair["state"] == "cancelled"
    assert [f["code"] for f in repair["flags"]] == ["carrier.moved_after_cancel"]
    notified = await _notified(service, repair["id"])
    exceptions = [payload for kind, payload in notified if kind == "repair.exception"]
    assert [(p["details"]["code"], p["state"]) for p in exceptions] == [("carrier.moved_after_cancel", "cancelled")]
