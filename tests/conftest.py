"""Fixtures shared by every test layer."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from logistics.services.ports import Store
from tests.support.clock import ManualClock
from tests.support.service import Service, database_under_test, running_service
from tests.support.stores import STORES, open_store

# The private PostgreSQL cluster's fixtures (``postgres_cluster``, ``postgres_url``) for every test folder.
pytest_plugins = ["tests.support.postgres"]

# Deterministic property tests everywhere: the same examples on every run and every machine.
hypothesis_settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("deterministic")

# Settings come from the environment; a developer's own LOGISTICS_* variables must not leak into tests.
for name in [n for n in os.environ if n.startswith("LOGISTICS_")]:
    del os.environ[name]


# The service's own test folders run every test that starts a service (or a store) twice: on SQLite and on
# PostgreSQL. The single-process crash test (tests/crash) kills one `logistics serve` on its SQLite file a
# hundred times; on PostgreSQL the same checks run with three instances in tests/multi.
BOTH_STORES = ("api", "e2e", "tracking")
# Tests that stay off PostgreSQL (on SQLite, and in memory where they take the ``store`` fixture), and why:
# they read or break the SQLite file itself (raw SQL on the file, a digest of its bytes, a full disk), patch
# the SQLite store's classes, or peek at the legs due, which PostgreSQL leases to whoever asks. The
# store-level behaviour they pin is checked on every store by tests/storage/test_store_contract.py.
_READS_ANSWERS = "reads or breaks the stored answers in the SQLite file, or patches SqliteStore"
_PEEKS_AT_POLLS = "peeks at the legs due with open_legs_to_poll, which on PostgreSQL leases them to the caller"
SQLITE_ONLY = {
    "tests/api/test_authorisation.py": "reads through the SQLite store's reader connection",
    **{
        f"tests/api/test_idempotency.py::{name}": _READS_ANSWERS
        for name in (
            "test_fifty_concurrent_duplicates_make_one_repair_and_one_booking",
            "test_a_request_rerun_after_its_answer_was_lost_finds_its_repair",
            "test_an_unfinished_claim_left_by_an_older_release_does_not_hold_the_key",
            "test_answers_are_forgotten_after_the_retention_and_a_late_retry_acts_once",
            "test_forgetting_goes_in_batches_oldest_first",
            "test_a_refusal_binds_its_key_and_is_evaluated_again_when_sent_again",
            "test_a_dispatch_refused_before_its_receipt_goes_through_with_its_key_once_received",
            "test_an_answer_goes_out_before_its_copy_is_stored_and_a_duplicate_meanwhile_gets_it",
            "test_answers_already_sent_are_stored_before_the_service_stops",
            "test_an_answer_whose_copy_fails_is_logged_and_its_key_runs_again_without_acting_twice",
            "test_a_refusal_whose_copy_fails_to_store_is_never_replayed",
        )
    },
    "tests/api/test_label_links.py": "reads label links from the SQLite file",
    "tests/api/test_stored_documents.py": "rewrites the SQLite file's deflated documents as JSON text",
    "tests/api/test_turnaround_list.py": "sets turnaround states in the SQLite file",
    "tests/api/test_booking_leases.py": "reads booking intents from the SQLite file",
    "tests/api/test_chained_pickup.py": "reads booking intents from the SQLite file",
    "tests/api/test_documents_by_reader.py::test_a_repair_stored_under_older_limits_gets_a_clear_refusal_not_a_500": (
        "writes a repair's document into the SQLite file"
    ),
    "tests/e2e/test_failed_bookings.py::test_the_retry_command_requeues_failed_bookings_for_the_service": (
        "reads booking intents from the SQLite file"
    ),
    "tests/storage/test_store_contract.py::test_legs_are_polled_when_due_and_open": _PEEKS_AT_POLLS,
    "tests/tracking/test_polling.py::test_the_next_poll_follows_the_stage_and_a_delivered_leg_closes": _PEEKS_AT_POLLS,
    "tests/tracking/test_polling.py::test_a_failing_call_does_not_stop_the_others": _PEEKS_AT_POLLS,
    "tests/tracking/test_polling.py::test_a_number_the_carrier_does_not_know_yet_is_asked_again_later": _PEEKS_AT_POLLS,
    "tests/tracking/test_polling.py::test_the_retry_after_an_error_and_for_an_unknown_number_are_settings": (
        _PEEKS_AT_POLLS
    ),
}
TESTS = Path(__file__).resolve().parent


@functools.cache
def _starts_a_service(module: Path) -> bool:
    text = module.read_text(encoding="utf-8")
    return any(start in text for start in ("running_service(", "carrier_service(", "service_on("))


def _sqlite_only(definition: pytest.Function) -> bool:
    path = Path(str(definition.path)).resolve()
    if not path.is_relative_to(TESTS):
        return True
    module = str(path.relative_to(TESTS.parent))
    return bool(
        definition.get_closest_marker("sqlite_only")
        or {module, f"{module}::{definition.originalname}"} & set(SQLITE_ONLY)
    )


def _on_both_stores(definition: pytest.Function, fixturenames: list[str]) -> bool:
    path = Path(str(definition.path)).resolve()
    if not path.is_relative_to(TESTS) or path.relative_to(TESTS).parts[0] not in BOTH_STORES:
        return False
    if _sqlite_only(definition):
        return False
    return "service" in fixturenames or _starts_a_service(path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = any("store" in str(mark.args[0]).split(",") for mark in metafunc.definition.iter_markers("parametrize"))
    if "store" in metafunc.fixturenames and not chosen:
        # A test of the port itself runs on every implementation (PostgreSQL unless it is SQLite-only).
        kinds = [kind for kind in STORES if kind != "postgres" or not _sqlite_only(metafunc.definition)]
        metafunc.parametrize("store", kinds, indirect=True)
    elif _on_both_stores(metafunc.definition, metafunc.fixturenames):
        metafunc.parametrize("store_kind", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(autouse=True)
def store_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store the test's services run on (``sqlite`` unless the test is parametrised for both)."""
    kind: str = getattr(request, "param", "sqlite")
    if kind != "postgres":
        yield kind
        return
    token = database_under_test.set(request.getfixturevalue("postgres_url"))
    try:
        yield kind
    finally:
        database_under_test.reset(token)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Service]:
    async with running_service(tmp_path, clock) as svc:
        yield svc


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The storage port, once on each implementation (tests/support/stores.py): services behave the same."""
    kind: str = getattr(request, "param", "sqlite")
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    async with open_store(kind, tmp_path, url) as opened:
        yield opened


# looptime 0.9 asks the event-loop policy for its loop before every test call; under pytest-asyncio 1.x there is
# often none set, so the policy creates a loop that nobody closes, and its ResourceWarning later fails whichever
# test the garbage collector happens to interrupt. Close such a loop right after the call.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    before = getattr(local, "_loop", None)
    try:
        return (yield)
    finally:
        after = getattr(local, "_loop", None)
        if after is not None and after is not before and not after.is_running() and not after.is_closed():
            after.close()
            policy.set_event_loop(None)
