"""Hostile input on every route that takes a body, and requests the HTTP parser refuses: always a 4xx
problem+json that echoes nothing it should not, never a 5xx, and the database unchanged."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from carriers.sim.push import sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service, running_service
from tests.support.snapshot import database_digest

Setter = Callable[[dict[str, Any], Any], None]


def _at(*path: str | int) -> Setter:
    def put(body: dict[str, Any], value: Any) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return put


# Each route: a valid body, and where a text field of it lives (the one a hostile value goes into).
def _routes(repair_id: str) -> dict[str, tuple[str, str, dict[str, Any], Setter | None]]:
    create = repair_request(PARIS_SITE, "C-HOSTILE")
    quote = {k: v for k, v in create.items() if k not in ("case_id", "language")}
    return {
        "quote": ("/v1/routing/quote", "case_system", quote, _at("site", "name")),
        "create": ("/v1/repairs", "case_system", create, _at("site", "city")),
        "cancel": (f"/v1/repairs/{repair_id}/cancel", "case_system", {"reason": "x"}, _at("reason")),
        "reschedule": (f"/v1/repairs/{repair_id}/reschedule", "case_system", {"preferred_date": None}, None),
        "receipt": ("/v1/centres/fr-lyon/receipts", "fr-lyon", {"repair_id": repair_id, "note": "x"}, _at("note")),
        "dispatch": (
            "/v1/centres/fr-lyon/dispatches",
            "fr-lyon",
            {"repair_id": repair_id, "outcome": "replaced", "replacement_serial": "S"},
            _at("replacement_serial"),
        ),
    }


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# Raw bodies: the same for every route.
RAW: dict[str, bytes] = {
    "nested 1,000 deep": _nested(1000),
    "nested 5,000 deep": _nested(5000),
    "arrays nested 2,000 deep": b"[" * 2000 + b"]" * 2000,
    "nested 17 deep": _nested(17),
    "a 5,000-digit integer": b'{"a": ' + b"9" * 5000 + b"}",
    "a number past a double": b'{"a": 1e400}',
    "NaN": b'{"a": NaN}',
    "Infinity": b'{"a": -Infinity}',
    "not UTF-8": b'{"a": "\xc3\x28"}',
    "a lone surrogate": b'{"a": "\\ud800"}',
    "an empty body": b"",
    "a bare string": b'"hello"',
    "null": b"null",
    "a huge array": b"[" + b",".join(b"1" for _ in range(50_000)) + b"]",
    "a BOM": b'\xef\xbb\xbf{"a": 1}',
    "trailing garbage": b'{"a": 1} {"b": 2}',
}

# Values put into the route's text field.
TEXT: dict[str, Any] = {
    "NUL": "Camille\x00",
    "a C1 control (U+0085)": "Camille\u0085Martin",
    "a right-to-left override (U+202E)": "Camille\u202eniltraM",
    "a bidi isolate (U+2066)": "Camille \u2066Martin\u2069",
    "a left-to-right mark (U+200E)": "Camille\u200e",
    "an Arabic letter mark (U+061C)": "\u061cCamille",
    "a number": 5,
    "an object": {"a": 1},
    "a 5,000-character string": "x" * 5000,
    "a huge integer as a string field": 10**300,
}


async def _repair(service: Service) -> str:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-HOSTILE-BASE"))
    repair_id = str(created["repair"]["id"])
    status, _, _ = await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    assert status == 200
    return repair_id


async def _refused(service: Service, path: str, who: str, raw: bytes) -> None:
    before = database_digest(service.services.settings.database_path)
    status, problem, response = await service.call(
        "POST", path, who, data=raw, headers={"Content-Type": "application/json"}
    )
    assert 400 <= status < 500, (status, problem)
    assert response.content_type == "application/problem+json"
    assert problem["code"] and problem["detail"]
    assert database_digest(service.services.settings.database_path) == before


@pytest.mark.parametrize("case", list(RAW))
async def test_hostile_bodies_are_refused_on_every_route(service: Service, case: str) -> None:
    repair_id = await _repair(service)
    for path, who, _, _ in _routes(repair_id).values():
        await _refused(service, path, who, RAW[case])


@pytest.mark.parametrize("case", list(TEXT))
async def test_hostile_text_is_refused_in_every_text_field(service: Service, case: str) -> None:
    repair_id = await _repair(service)
    for path, who, valid, text_field in _routes(repair_id).values():
        if text_field is None:
            continue
        body = copy.deepcopy(valid)
        text_field(body, TEXT[case])
        await _refused(service, path, who, json.dumps(body).encode())


async def test_too_many_items_are_refused_with_the_limit(service: Service) -> None:
    body = repair_request(PARIS_SITE, "C-HOSTILE-ITEMS")
    body["entitlement"]["items"] = [{"kind": "ac_adapter"}] * 5000
    status, problem, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status == 422
    assert [f["name"] for f in problem["fields"]] == ["entitlement.items"]


async def test_right_to_left_names_are_letters_and_are_accepted(service: Service) -> None:
    site = PARIS_SITE | {"name": "דוד כהן", "company": "شركة المثال"}
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(site, "C-HOSTILE-RTL"))
    assert status == 201, created


async def test_a_hostile_carrier_push_is_a_400_after_its_signature(service: Service) -> None:
    now = service.clock.now()
    for raw in (_nested(1000), b'{"events": [' + b"9" * 5000 + b"]}", b'{"events": NaN}'):
        before = database_digest(service.services.settings.database_path)
        headers = {"Content-Type": "application/json", **sign_push(DEVELOPMENT_PUSH_SECRET, raw, int(now.timestamp()))}
        status, problem, _ = await service.call("POST", "/v1/carriers/sim/events", None, data=raw, headers=headers)
        assert status == 400 and problem["code"] == "carrier.push_malformed", problem
        assert database_digest(service.services.settings.database_path) == before


async def _raw_request(service: Service, head: bytes) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(service.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    header_block, _, body = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(b" ")[1]), headers, body


SECRET = "Bearer s3cr3t-" + "k" * 9000


@pytest.mark.parametrize(
    ("name", "head", "status", "code"),
    [
        ("a request line over 8 KB", b"GET /v1/repairs/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri"),
        (
            "a header over 8 KB",
            f"GET /v1/repairs HTTP/1.1\r\nHost: x\r\nAuthorization: {SECRET}\r\n\r\n".encode(),
            431,
            "headers",
        ),
        (
            "a header name over 8 KB",
            b"GET /v1/repairs HTTP/1.1\r\nHost: x\r\n" + b"X" * 9000 + b": 1\r\n\r\n",
            431,
            "headers",
        ),
        (
            "150 headers",
            b"GET /v1/repairs HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-Field-%d: Bearer s3cr3t\r\n" % i for i in range(150))
            + b"\r\n",
            431,
            "headers",
        ),
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 s3cr3t\r\n\r\n", 400, "malformed"),
    ],
)
async def test_requests_the_parser_refuses_are_problems_that_echo_nothing(
    service: Service, name: str, head: bytes, status: int, code: str
) -> None:
    got, headers, body = await _raw_request(service, head)
    assert got == status, body
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == status and code in problem["code"]
    assert b"s3cr3t" not in body and b"aaaa" not in body and b"XXXX" not in body
    assert headers["server"] == "repair-logistics"


async def test_a_slow_request_line_over_the_limit_is_still_414(service: Service) -> None:
    url = urlsplit(service.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"GET /")
    for _ in range(3):
        writer.write(b"a" * 4000)
        await writer.drain()
        await asyncio.sleep(0.02)
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    await writer.wait_closed()
    assert answer.split(b" ", 2)[1] == b"414", answer[:200]


async def test_every_answer_names_the_service_and_no_versions(service: Service) -> None:
    for path, who in (("/health", None), ("/v1/repairs", "case_system"), ("/v1/nowhere", None)):
        headers = service.auth(who) if who else {}
        async with service.http.get(service.base_url + path, headers=headers) as response:
            assert response.headers["Server"] == "repair-logistics"


async def test_operations_routes_need_the_operator_key(service: Service) -> None:
    for path in ("/metrics", "/openapi.yaml"):
        status, _, _ = await service.call("GET", path, None)
        assert status == 401
        status, _, _ = await service.call("GET", path, "case_system")
        assert status == 403
        status, _, _ = await service.call("GET", path, "operator")
        assert status == 200


async def test_a_connection_that_never_finishes_its_head_is_closed(tmp_path: Path) -> None:
    async with running_service(tmp_path, header_timeout_s=0.3) as service:
        url = urlsplit(service.base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # no blank line: the head never ends
        await writer.drain()
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed, unanswered
        assert asyncio.get_running_loop().time() - started < 3
        writer.close()
        # A connection that finishes its head in time is answered as usual.
        status, _, _ = await service.call("GET", "/health", None)
        assert status == 200
