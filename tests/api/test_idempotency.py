"""Idempotency-Key: concurrent duplicates make one repair and one booking; a changed body gets 422."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriers.resilience import ResilientCarrier
from carriers.sim.adapter import SimCarrier
from logistics.api.idempotency import ANSWER_COPY_TASK, KEY_SYNTAX
from logistics.services.ports import IdempotencyRecord, RepairFilter, SharedKeys
from logistics.storage.sqlite_store import SqliteStore, SqliteTransaction
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.openapi import spec
from tests.support.service import Service, running_service
from tests.support.snapshot import database_digest


def _sim(service: Service) -> SimCarrier:
    wrapped = service.services.carriers["sim"]
    assert isinstance(wrapped, ResilientCarrier) and isinstance(wrapped.adapter, SimCarrier)
    return wrapped.adapter


async def _repairs(service: Service) -> list[str]:
    """The ids of every repair stored, through the storage port."""
    return [r.id for r in (await service.services.store.reader().list_repairs(RepairFilter(), 1000, None)).items]


def _same_answer(replayed: dict[str, Any], first: dict[str, Any]) -> bool:
    """A stored answer given again: the same but for its label token, which is new (see test_label_links)."""
    link, first_link = replayed["customer_label"]["url"], first["customer_label"]["url"]
    if link == first_link or link.rsplit("/", 1)[0] != first_link.rsplit("/", 1)[0]:
        return False
    strip = {"url": None}
    return {**replayed, "customer_label": {**replayed["customer_label"], **strip}} == {
        **first,
        "customer_label": {**first["customer_label"], **strip},
    }


async def test_fifty_concurrent_duplicates_make_one_repair_and_one_booking(service: Service) -> None:
    body = repair_request(PARIS_SITE, "C-IDEM-1")
    headers = {"Idempotency-Key": "create-C-IDEM-1"}
    answers = await asyncio.gather(
        *[service.call("POST", "/v1/repairs", json=body, headers=headers) for _ in range(50)]
    )
    statuses = {status for status, _, _ in answers}
    assert statuses == {201}
    ids = {created["repair"]["id"] for _, created, _ in answers}
    assert len(ids) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for _, _, r in answers]
    assert replayed.count("true") == 49
    (stored,) = await _repairs(service)
    shipments = [
        i for i in await service.services.store.reader().intents_for(stored) if i.operation == "create_shipment"
    ]
    assert len(shipments) == 1
    sim = _sim(service)
    repair_id = ids.pop()
    assert len(sim.shipments_for(f"{repair_id}-in")) == 1
    assert len(sim.pickups_for(f"{repair_id}-in-p1")) == 1


async def test_same_key_other_body_is_refused_and_changes_nothing(service: Service) -> None:
    headers = {"Idempotency-Key": "key-1"}
    status, first, _ = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-2"), headers=headers
    )
    assert status == 201
    await service.services.idempotency.drain()  # the answer's copy is stored: what follows sees it
    before = database_digest(service.services.settings.database_path)
    status, problem, _ = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-3"), headers=headers
    )
    assert status == 422 and problem["code"] == "idempotency.key_reused"
    assert database_digest(service.services.settings.database_path) == before
    status, again, response = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-2"), headers=headers
    )
    assert status == 201 and response.headers["Idempotent-Replayed"] == "true"
    assert _same_answer(again, first)
    assert response.headers["Location"] == f"/v1/repairs/{first['repair']['id']}"


async def test_keys_are_scoped_to_the_caller(service: Service) -> None:
    # The same key from a centre and from the case system are two different keys.
    status, _, _ = await service.call(
        "POST",
        "/v1/repairs",
        json=repair_request(PARIS_SITE, "C-IDEM-4"),
        headers={"Idempotency-Key": "shared"},
    )
    assert status == 201
    status, problem, _ = await service.call(
        "POST",
        "/v1/centres/fr-lyon/receipts",
        "fr-lyon",
        json={"repair_id": "rp_unknown"},
        headers={"Idempotency-Key": "shared"},
    )
    assert status == 404 and problem["code"] == "repair.not_found"


async def test_malformed_key_is_refused(service: Service) -> None:
    status, problem, _ = await service.call(
        "POST",
        "/v1/repairs",
        json=repair_request(PARIS_SITE, "C-IDEM-5"),
        headers={"Idempotency-Key": "x" * 256},
    )
    assert status == 400 and problem["code"] == "idempotency.bad_key"


async def test_a_key_with_spaces_inside_is_a_key_like_any_other(service: Service) -> None:
    headers = {"Idempotency-Key": 'case C-IDEM-18, attempt "1"'}
    body = repair_request(PARIS_SITE, "C-IDEM-18")
    status, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    status, again, response = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and response.headers["Idempotent-Replayed"] == "true"
    assert again["repair"]["id"] == first["repair"]["id"]


@pytest.mark.parametrize("key", ["caf\xe9", "tab\there", "no\xa0break", "x" * 256])
async def test_a_key_outside_printable_ascii_is_refused(service: Service, key: str) -> None:
    status, problem, _ = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-19"), headers={"Idempotency-Key": key}
    )
    assert status == 400 and problem["code"] == "idempotency.bad_key"
    status, _, _ = await service.call("GET", "/v1/repairs?case_id=C-IDEM-19")
    assert status == 200


def _spec_key_pattern() -> str:
    pattern: str = spec()["components"]["parameters"]["IdempotencyKey"]["schema"]["pattern"]
    return pattern


@given(st.from_regex(_spec_key_pattern(), fullmatch=True).filter(lambda key: len(key) <= 255))
def test_every_key_the_spec_allows_the_server_takes(key: str) -> None:
    assert KEY_SYNTAX.fullmatch(key)


@given(st.text(st.characters(max_codepoint=0x17F), max_size=300))
def test_every_key_the_server_takes_the_spec_allows(key: str) -> None:
    if KEY_SYNTAX.fullmatch(key):
        assert re.fullmatch(_spec_key_pattern(), key) and len(key) <= 255


async def test_a_request_rerun_after_its_answer_was_lost_finds_its_repair(service: Service) -> None:
    """The first run created the repair but its process died before it stored the answer: a retry with the
    same key answers at once with that repair and books nothing more."""
    body = repair_request(PARIS_SITE, "C-IDEM-6")
    headers = {"Idempotency-Key": "lost-answer"}
    status, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    await service.services.idempotency.drain()  # the answer's copy is stored: what follows sees it
    # What a crash between the repair's commit and the answer's leaves behind: no answer under the key.
    async with service.services.store.transaction() as tx:  # the only answer stored so far
        assert await tx.forget_idempotency(service.clock.now() + timedelta(seconds=1), 100) == 1
    status, again, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    assert again["repair"]["id"] == first["repair"]["id"]
    assert again["customer_label"]["url"] != first["customer_label"]["url"]  # a new link; both work
    assert len(await _repairs(service)) == 1
    sim = _sim(service)
    assert len(sim.shipments_for(f"{first['repair']['id']}-in")) == 1


async def test_dispatch_and_receipt_answer_again_without_acting_twice(service: Service) -> None:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-7"))
    repair_id = created["repair"]["id"]
    for _ in range(2):
        status, received, _ = await service.call(
            "POST",
            "/v1/centres/fr-lyon/receipts",
            "fr-lyon",
            json={"repair_id": repair_id, "items_received": ["ac_adapter"]},
        )
        assert status == 200 and received["state"] == "at_centre"
    dispatch = {"repair_id": repair_id, "outcome": "replaced", "replacement_serial": "NEW-1"}
    answers = [await service.call("POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json=dispatch) for _ in range(2)]
    assert [status for status, _, _ in answers] == [201, 201]
    assert answers[0][1]["repair"]["outbound"] == answers[1][1]["repair"]["outbound"]
    assert len(_sim(service).shipments_for(f"{repair_id}-out")) == 1
    status, problem, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json={**dispatch, "replacement_serial": "NEW-2"}
    )
    assert status == 409 and problem["code"] == "dispatch.not_possible"
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
    assert [e["kind"] for e in history["items"]].count("outcome") == 1
    assert [e["to_state"] for e in history["items"]].count("at_centre") == 1


async def test_an_unfinished_claim_left_by_an_older_release_does_not_hold_the_key(service: Service) -> None:
    body = repair_request(PARIS_SITE, "C-IDEM-8")
    fingerprint = hashlib.sha256(b"POST /v1/repairs\n" + json.dumps(body).encode()).hexdigest()
    with sqlite3.connect(service.services.settings.database_path) as conn:
        conn.execute(
            "INSERT INTO idempotency_keys (principal, key, method, path, body_hash, state, created_at, locked_at)"
            " VALUES ('case_system:case', 'old-claim', 'POST', '/v1/repairs', ?, 'in_progress', ?, ?)",
            (fingerprint, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        )
    headers = {"Idempotency-Key": "old-claim", "Content-Type": "application/json"}
    status, created, _ = await service.call("POST", "/v1/repairs", data=json.dumps(body), headers=headers)
    assert status == 201
    await service.services.idempotency.drain()  # the answer's copy is stored: what follows sees it
    status, again, response = await service.call("POST", "/v1/repairs", data=json.dumps(body), headers=headers)
    assert status == 201 and _same_answer(again, created) and response.headers["Idempotent-Replayed"] == "true"
    with sqlite3.connect(service.services.settings.database_path) as conn:
        rows = conn.execute("SELECT state FROM idempotency_keys WHERE key = 'old-claim'").fetchall()
    assert rows == [("done",)]  # the older row itself was finished, not shadowed by another


async def test_a_duplicate_never_acts_on_a_look_up_made_before_the_first_answered(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow look-ups of stored answers: the duplicate arrives while the first request is still looking, and
    must wait for it and replay its answer rather than look (and find nothing) for itself."""
    reader = service.services.store.reader()
    real = reader.idempotency
    looked: list[str] = []

    async def slow_look_up(principal: str, key: str) -> Any:
        looked.append(key)
        await asyncio.sleep(0.05)
        return await real(principal, key)

    monkeypatch.setattr(reader, "idempotency", slow_look_up)
    body = repair_request(PARIS_SITE, "C-IDEM-9")
    headers = {"Idempotency-Key": "slow-look-up"}
    first = asyncio.create_task(service.call("POST", "/v1/repairs", json=body, headers=headers))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(service.call("POST", "/v1/repairs", json=body, headers=headers))
    (status_1, created_1, response_1), (status_2, created_2, response_2) = await asyncio.gather(first, second)
    assert status_1 == status_2 == 201 and created_1 == created_2
    assert "Idempotent-Replayed" not in response_1.headers and response_2.headers["Idempotent-Replayed"] == "true"
    # The duplicate waited and replayed; it never looked for itself. The first looks only where the process
    # alone holds its keys: one held in a shared store (PostgreSQL) was just claimed, so no answer is stored.
    assert looked == ([] if isinstance(service.services.store, SharedKeys) else ["slow-look-up"])


async def test_answers_are_forgotten_after_the_retention_and_a_late_retry_acts_once(service: Service) -> None:
    body = repair_request(PARIS_SITE, "C-IDEM-9")
    headers = {"Idempotency-Key": "kept-a-week"}
    status, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    service.clock.advance(days=6)
    _, fresh, _ = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-10"), headers={"Idempotency-Key": "newer"}
    )
    assert await service.services.housekeeping.run() == 0  # within the retention (7 days by default)
    service.clock.advance(days=1, seconds=1)
    assert await service.services.housekeeping.run() == 1  # the first answer only
    with sqlite3.connect(service.services.settings.database_path) as conn:
        assert conn.execute("SELECT key FROM idempotency_keys").fetchall() == [("newer",)]
    # The key reused after its answer was forgotten: a new request, which finds its repair by the key.
    status, again, response = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and "Idempotent-Replayed" not in response.headers
    assert again["repair"]["id"] == first["repair"]["id"]
    assert len(await _repairs(service)) == 2
    assert len(_sim(service).shipments_for(f"{first['repair']['id']}-in")) == 1
    assert fresh["repair"]["id"] != first["repair"]["id"]
    # ... and reused for another case: refused, never answered with the first case's repair.
    other = repair_request(PARIS_SITE, "C-IDEM-11")
    service.clock.advance(days=8)
    await service.services.housekeeping.run()
    before = database_digest(service.services.settings.database_path)
    status, problem, _ = await service.call("POST", "/v1/repairs", json=other, headers=headers)
    assert status == 422 and problem["code"] == "idempotency.key_reused"
    assert database_digest(service.services.settings.database_path) == before
    status, again, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)  # the key's own
    assert status == 201 and again["repair"]["id"] == first["repair"]["id"]


async def test_forgetting_goes_in_batches_oldest_first(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from logistics.services import housekeeping

    monkeypatch.setattr(housekeeping, "BATCH", 2)

    async def create(key: str) -> None:
        body = repair_request(PARIS_SITE, f"C-{key}")
        status, _, _ = await service.call("POST", "/v1/repairs", json=body, headers={"Idempotency-Key": key})
        assert status == 201

    for n in range(5):
        await create(f"old-{n}")
    service.clock.advance(days=8)
    await create("new")
    assert await service.services.housekeeping.run() == 5  # three batches: 2, 2 and 1
    with sqlite3.connect(service.services.settings.database_path) as conn:
        assert conn.execute("SELECT key FROM idempotency_keys").fetchall() == [("new",)]


async def test_a_refusal_binds_its_key_and_is_evaluated_again_when_sent_again(service: Service) -> None:
    refused = repair_request(PARIS_SITE, "C-IDEM-12")
    refused["entitlement"]["country_of_purchase"] = "JP"  # not a country of the programme
    headers = {"Idempotency-Key": "refused-once"}
    status, problem, _ = await service.call("POST", "/v1/repairs", json=refused, headers=headers)
    assert status == 422 and problem["code"] == "routing.refused"
    status, again, response = await service.call("POST", "/v1/repairs", json=refused, headers=headers)
    assert status == 422 and again["code"] == "routing.refused" and "Idempotent-Replayed" not in response.headers
    status, other, _ = await service.call(
        "POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-12"), headers=headers
    )
    assert status == 422 and other["code"] == "idempotency.key_reused"
    with sqlite3.connect(service.services.settings.database_path) as conn:
        assert conn.execute("SELECT count(*) FROM repairs").fetchone() == (0,)
        assert conn.execute("SELECT state, response_body FROM idempotency_keys").fetchall() == [("refused", None)]


async def test_a_dispatch_refused_before_its_receipt_goes_through_with_its_key_once_received(
    service: Service,
) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-IDEM-13"))
    repair_id = created["repair"]["id"]
    dispatch = {"repair_id": repair_id, "outcome": "repaired"}
    headers = {"Idempotency-Key": "dispatch-early"}
    status, problem, _ = await service.call(
        "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json=dispatch, headers=headers
    )
    assert status == 409 and problem["code"] == "dispatch.not_possible"
    await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    for replayed in (None, "true"):  # done now; then its answer is given again
        status, _, response = await service.call(
            "POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json=dispatch, headers=headers
        )
        assert status == 201 and response.headers.get("Idempotent-Replayed") == replayed
    assert len(_sim(service).shipments_for(f"{repair_id}-out")) == 1


def _hold_answer_copies(monkeypatch: pytest.MonkeyPatch, gate: asyncio.Event, failures: list[Exception]) -> None:
    """The background stores of answers' copies wait for ``gate`` before they ask for the writer (so nothing
    else waits behind them); each then fails with the next of ``failures`` while any is left."""
    real = SqliteStore.transaction

    @asynccontextmanager
    async def held(self: SqliteStore) -> AsyncIterator[SqliteTransaction]:
        task = asyncio.current_task()
        if task is not None and task.get_name() == ANSWER_COPY_TASK:
            await gate.wait()
            if failures:
                raise failures.pop(0)
        async with real(self) as tx:
            yield tx

    monkeypatch.setattr(SqliteStore, "transaction", held)


def _stored_answers(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT key, state FROM idempotency_keys ORDER BY key").fetchall()


async def test_an_answer_goes_out_before_its_copy_is_stored_and_a_duplicate_meanwhile_gets_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    _hold_answer_copies(monkeypatch, gate, [])
    try:
        body = repair_request(PARIS_SITE, "C-IDEM-14")
        headers = {"Idempotency-Key": "copy-behind"}
        status, first, response = await asyncio.wait_for(
            service.call("POST", "/v1/repairs", json=body, headers=headers), 5
        )
        assert status == 201 and "Idempotent-Replayed" not in response.headers
        path = service.services.settings.database_path
        assert _stored_answers(path) == []  # answered; its copy is not committed yet
        duplicate = asyncio.create_task(service.call("POST", "/v1/repairs", json=body, headers=headers))
        await asyncio.sleep(0.05)
        assert not duplicate.done()  # the key is still held (nothing holds the writer): the duplicate waits
        gate.set()
        status, again, response = await asyncio.wait_for(duplicate, 5)
        assert status == 201 and response.headers["Idempotent-Replayed"] == "true"
        assert again == first  # the answer itself, label link included
        await service.services.idempotency.drain()
        assert _stored_answers(path) == [("copy-behind", "done")]
        assert len(_sim(service).shipments_for(f"{first['repair']['id']}-in")) == 1
    finally:
        gate.set()  # a failure above must not leave a request stuck on the gate


async def test_answers_already_sent_are_stored_before_the_service_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    _hold_answer_copies(monkeypatch, gate, [])
    async with running_service(tmp_path) as service:
        try:
            status, _, _ = await asyncio.wait_for(
                service.call(
                    "POST",
                    "/v1/repairs",
                    json=repair_request(PARIS_SITE, "C-IDEM-15"),
                    headers={"Idempotency-Key": "late"},
                ),
                5,
            )
            assert status == 201
            path = service.services.settings.database_path
        finally:
            asyncio.get_running_loop().call_later(0.05, gate.set)  # the copy is still held as the service stops
    assert _stored_answers(path) == [("late", "done")]


async def test_an_answer_whose_copy_fails_is_logged_and_its_key_runs_again_without_acting_twice(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gate = asyncio.Event()
    gate.set()
    _hold_answer_copies(monkeypatch, gate, [sqlite3.OperationalError("disk I/O error")])
    body = repair_request(PARIS_SITE, "C-IDEM-16")
    headers = {"Idempotency-Key": "copy-lost"}
    status, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    await service.services.idempotency.drain()
    assert "was sent but not stored (disk I/O error)" in caplog.text
    assert _stored_answers(service.services.settings.database_path) == []
    status, again, response = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and "Idempotent-Replayed" not in response.headers  # run again: it finds its repair
    assert again["repair"]["id"] == first["repair"]["id"]
    assert len(_sim(service).shipments_for(f"{first['repair']['id']}-in")) == 1
    await service.services.idempotency.drain()
    assert _stored_answers(service.services.settings.database_path) == [("copy-lost", "done")]


async def test_a_refusal_whose_copy_fails_to_store_is_never_replayed(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal was not sent (its store failed: 500): a duplicate that waited for it runs for itself."""
    gate = asyncio.Event()
    real = SqliteTransaction.save_idempotency

    async def failing(self: SqliteTransaction, record: IdempotencyRecord) -> None:
        if record.state != "refused":
            await real(self, record)
            return
        await gate.wait()
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SqliteTransaction, "save_idempotency", failing)
    refused = repair_request(PARIS_SITE, "C-IDEM-17")
    refused["entitlement"]["country_of_purchase"] = "JP"  # not a country of the programme
    headers = {**service.auth(), "Idempotency-Key": "refusal-not-stored"}

    async def send() -> tuple[int, str, str | None]:
        async with service.http.post(service.base_url + "/v1/repairs", json=refused, headers=headers) as response:
            problem = await response.json(content_type=None)
            return response.status, problem["code"], response.headers.get("Idempotent-Replayed")

    try:
        first = asyncio.create_task(send())
        await asyncio.sleep(0.05)
        duplicate = asyncio.create_task(send())
        await asyncio.sleep(0.05)
    finally:
        gate.set()
    assert await first == (503, "storage.unavailable", None)
    assert await duplicate == (503, "storage.unavailable", None)  # it ran for itself; its own store failed too
    assert _stored_answers(service.services.settings.database_path) == []
