"""The API fuzzed against openapi.yaml with schemathesis: every operation, every role, a fixed seed.

The real application serves on a loopback port from a background thread with its own event loop (the
schemathesis pytest integration calls synchronously), with real SQLite in a temporary directory and a
fixed manual clock. Each operation is called with the key of the role that uses it: the case system for
routing and repairs (and the unauthenticated customer, carrier and operations endpoints, which ignore the
key), a repair centre for the centre endpoints, the operator for the admin endpoint.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from logistics.app import create_app
from tests.support import service as support
from tests.support.clock import ManualClock

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
CENTRE = "fr-lyon"
EXAMPLES = 50

schema = schemathesis.openapi.from_path(SPEC)

# One schema per role. Centre endpoints are called with the path's centre set to the key's own centre, so
# that the fuzzer reaches the handlers instead of stopping at the ownership check every time.
case_system_schema = schema.exclude(path_regex=r"^/v1/(centres|admin)/")
centre_schema = schemathesis.openapi.from_path(SPEC).include(path_regex=r"^/v1/centres/")
centre_schema.config.update(parameters={"centre_id": CENTRE})
operator_schema = schema.include(path_regex=r"^/v1/admin/")

# Schema-valid requests the service refuses (422) for a documented rule that a schema cannot state, by
# operation: the problem code and the rule. positive_data_acceptance holds for every other answer: a request
# the spec allows is never refused for its shape.
KEY_REUSED = {"idempotency.key_reused": "an Idempotency-Key is bound to its first request (another body: 422)"}
ROUTING = {"routing.refused": "no coverage region serves the site, or its subdivision is not the postal code's"}
UNPRINTABLE = {"request.unprintable": "text the labels cannot print with real glyphs (CJK, most emoji, ...)"}
BAD_CURSOR = {"request.bad_cursor": "a cursor the service never issued"}
BUSINESS_RULES: dict[str, dict[str, str]] = {
    "POST /v1/routing/quote": ROUTING,
    "POST /v1/repairs": ROUTING | UNPRINTABLE | KEY_REUSED,
    "GET /v1/repairs": BAD_CURSOR,
    "GET /v1/centres/{centre_id}/repairs": BAD_CURSOR,
    "GET /v1/events": {"feed.bad_cursor": "a cursor this feed never gave"},
    "POST /v1/repairs/{repair_id}/cancel": KEY_REUSED,
    "POST /v1/repairs/{repair_id}/reschedule": KEY_REUSED,
    "POST /v1/repairs/{repair_id}/customer-label": KEY_REUSED,
    "POST /v1/centres/{centre_id}/receipts": KEY_REUSED
    | {"receipt.bad_scan": "a scan that is not a label of this service (its payload is signed)"},
    "POST /v1/centres/{centre_id}/dispatches": UNPRINTABLE | KEY_REUSED,
    "POST /v1/admin/notifications/redeliver": {"redelivery.empty_range": "until must come after since"},
}


def refused_only_by_documented_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, but for the refusals listed in ``BUSINESS_RULES``."""
    if response.status_code == 422:
        problem = response.json()
        if problem.get("code") in BUSINESS_RULES.get(case.operation.label, {}):
            return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],  # each example is a real HTTP exchange with real SQLite
)


@dataclass(frozen=True)
class Served:
    base_url: str
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


class _ServerThread(threading.Thread):
    """The application on 127.0.0.1, in a thread with its own event loop, until ``stop()``."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(name="fuzzed-service", daemon=True)
        self._tmp_path = tmp_path
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._halt: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0
        self.keys: dict[str, str] = {}

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the test thread by start_and_wait()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        keys, self.keys = support.make_keys()
        executor = ThreadPoolExecutor(max_workers=2)
        app = create_app(
            support.test_settings(self._tmp_path), clock=ManualClock(), label_executor=executor, api_keys=keys
        )
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._halt = asyncio.Event()
            self._ready.set()
            await self._halt.wait()
        finally:
            await runner.cleanup()
            executor.shutdown(wait=True)

    def start_and_wait(self) -> None:
        self.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the service did not start within 30 s")
        if self._error is not None:
            raise RuntimeError("the service failed to start") from self._error

    def stop(self) -> None:
        halt = self._halt
        if halt is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(halt.set)
        self.join(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = _ServerThread(tmp_path_factory.mktemp("fuzzed-service"))
    try:
        server.start_and_wait()
        base_url = f"http://127.0.0.1:{server.port}"
        for each in (case_system_schema, centre_schema, operator_schema):
            each.config.update(base_url=base_url)
        yield Served(base_url=base_url, keys=server.keys)
    finally:
        server.stop()
    assert not server.is_alive(), "the service thread did not stop"


def _call_and_validate(case: Any, served: Served, who: str) -> None:
    case.call_and_validate(
        base_url=served.base_url,
        headers=served.auth(who),
        excluded_checks=[positive_data_acceptance],
        additional_checks=[refused_only_by_documented_rules],
    )


@case_system_schema.parametrize()
@FUZZ
def test_case_system_operations(case: Any, served: Served) -> None:
    _call_and_validate(case, served, "case_system")


@centre_schema.parametrize()
@FUZZ
def test_centre_operations(case: Any, served: Served) -> None:
    _call_and_validate(case, served, CENTRE)


@operator_schema.parametrize()
@FUZZ
def test_operator_operations(case: Any, served: Served) -> None:
    _call_and_validate(case, served, "operator")
