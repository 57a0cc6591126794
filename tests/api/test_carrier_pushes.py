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
            "unknown tracking number",
            (other := json.dumps({"events": [scan("1ZUNKNOWN0000000001", "PU", now)]}).encode()),
            sign_push(DEVELOPMENT_PUSH_SECRET, other, stamp),
            404,
            "tracking.unknown_number",
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
    t = service.clock.advance(days=1)
    assert await push(service, [scan(number, "PU", t), scan(number, "IT", t + timedelta(hours=2))]) == (
        202,
        {"accepted": 2, "duplicates": 0},
    )
    assert await push(service, [scan(number, "PU", t)]) == (202, {"accepted": 0, "duplicates": 1})
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
