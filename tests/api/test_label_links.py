"""Customers' label links: the PDF by token alone; unknown, expired and revoked tokens answer the same 404."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest

from logistics.domain.journey import LegDirection
from tests.support.barcodes import decode_pdf
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.service import Service


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


async def test_link_serves_the_a4_pack_by_default_and_4x6_on_request(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LINK-1"))
    path = _path(created["customer_label"]["url"])
    status, a4, response = await service.call("GET", path, None)
    assert status == 200 and response.content_type == "application/pdf"
    etag = response.headers["ETag"]
    status, thermal, _ = await service.call("GET", path, None, params={"format": "4x6"})
    assert status == 200 and thermal != a4
    tracking = created["repair"]["inbound"]["tracking_number"]
    for pdf in (a4, thermal):
        texts = [text for fmt, text in decode_pdf(pdf) if fmt == "Code128"]
        assert tracking in texts
    status, _, _ = await service.call("GET", path, None, headers={"If-None-Match": etag})
    assert status == 304


async def test_tokens_are_long_and_stored_only_as_hashes(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LINK-2"))
    token = created["customer_label"]["url"].rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 bits of entropy, base64url
    with sqlite3.connect(service.services.settings.database_path) as conn:
        dump = "\n".join(conn.iterdump())
    assert token not in dump


async def test_unknown_expired_and_revoked_tokens_look_alike(service: Service) -> None:
    _, first, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LINK-3"))
    _, second, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LINK-4"))
    revoked = _path(first["customer_label"]["url"])
    status, _, _ = await service.call("POST", f"/v1/repairs/{first['repair']['id']}/cancel", json={"reason": "x"})
    assert status == 200
    answers = []
    for path in (revoked, "/v1/labels/" + "A" * 32):
        status, problem, _ = await service.call("GET", path, None)
        answers.append((status, problem["code"], problem["detail"]))
    service.clock.advance(days=31)  # the default lifetime is 30 days
    status, problem, _ = await service.call("GET", _path(second["customer_label"]["url"]), None)
    answers.append((status, problem["code"], problem["detail"]))
    assert len(set(answers)) == 1 and answers[0][0] == 404


def _dump(service: Service) -> str:
    with sqlite3.connect(service.services.settings.database_path) as conn:
        return "\n".join(conn.iterdump())


async def test_answers_kept_for_replay_hold_no_token_and_replay_with_a_working_twin(service: Service) -> None:
    headers = {"Idempotency-Key": "link-replay-1"}
    body = repair_request(CORSICA_SITE, "C-LINK-5")
    status, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201
    await service.services.idempotency.drain()  # the answer's copy is stored: what follows sees it
    token = first["customer_label"]["url"].rsplit("/", 1)[1]
    assert token not in _dump(service)
    status, again, response = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and response.headers["Idempotent-Replayed"] == "true"
    twin = again["customer_label"]["url"].rsplit("/", 1)[1]
    assert twin != token and len(twin) == len(token) and twin not in _dump(service)
    assert again["customer_label"]["expires_at"] == first["customer_label"]["expires_at"]
    downloads = [await service.call("GET", _path(answer["customer_label"]["url"]), None) for answer in (first, again)]
    assert [status for status, _, _ in downloads] == [200, 200]
    assert downloads[0][1] == downloads[1][1]
    # Both links end together.
    links = await service.services.store.reader().label_links_of(first["repair"]["id"], LegDirection.INBOUND)
    assert len(links) == 2 and len({link.expires_at for link in links}) == 1


async def test_a_replay_after_cancel_gives_a_link_that_is_revoked_too(service: Service) -> None:
    headers = {"Idempotency-Key": "link-replay-2"}
    body = repair_request(PARIS_SITE, "C-LINK-6")
    _, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    status, _, _ = await service.call("POST", f"/v1/repairs/{first['repair']['id']}/cancel", json={"reason": "x"})
    assert status == 200
    status, again, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and again["repair"]["id"] == first["repair"]["id"]
    status, problem, _ = await service.call("GET", _path(again["customer_label"]["url"]), None)
    assert status == 404 and problem["code"] == "label.not_found"


async def test_a_dispatch_answer_kept_for_replay_holds_no_token(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LINK-7"))
    repair_id = created["repair"]["id"]
    await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    dispatch = {"repair_id": repair_id, "outcome": "repaired"}
    headers = {"Idempotency-Key": "dispatch-replay"}
    answers = []
    for _ in range(2):
        answers.append(
            await service.call("POST", "/v1/centres/fr-lyon/dispatches", "fr-lyon", json=dispatch, headers=headers)
        )
        await service.services.idempotency.drain()  # the answer's copy is stored: what follows sees it
    assert [status for status, _, _ in answers] == [201, 201]
    first, again = (answer["label"] for _, answer, _ in answers)
    assert first["url"].rsplit("/", 1)[1] not in _dump(service)
    assert again["url"] != first["url"] and again["expires_at"] == first["expires_at"]
    for label in (first, again):
        status, _, _ = await service.call("GET", _path(label["url"]), None)
        assert status == 200


async def test_a_link_hash_written_into_an_echoed_field_never_becomes_a_token(service: Service) -> None:
    """Only what the service sealed is opened on replay: knowing a link's hash (from a backup, say) and
    echoing it through a field of one's own keyed request yields text, not a working token."""
    _, victim, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LINK-8"))
    reader = service.services.store.reader()
    (victim_link,) = await reader.label_links_of(victim["repair"]["id"], LegDirection.INBOUND)
    victim_hash = victim_link.token_hash
    body = repair_request(CORSICA_SITE, "C-LINK-9")
    body["device"]["model"] = f"sealed-{victim_hash}"
    headers = {"Idempotency-Key": "link-replay-3"}
    for _ in range(2):
        status, answer, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
        assert status == 201 and answer["repair"]["device"]["model"] == f"sealed-{victim_hash}"
    assert len(await reader.label_links_of(victim["repair"]["id"], LegDirection.INBOUND)) == 1


async def test_a_cancelled_repair_serves_no_label_even_through_a_link_made_after_the_cancel(
    service: Service,
) -> None:
    """A keyed create answered again after its stored answer was lost (a crash, or migration 2 dropping an
    answer that held its token in clear) makes a new link; once the repair is cancelled, it serves nothing."""
    headers = {"Idempotency-Key": "link-replay-4"}
    body = repair_request(PARIS_SITE, "C-LINK-10")
    _, first, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    status, _, _ = await service.call("POST", f"/v1/repairs/{first['repair']['id']}/cancel", json={"reason": "x"})
    assert status == 200
    await service.services.idempotency.drain()
    async with service.services.store.transaction() as tx:  # the stored answer is lost
        assert await tx.forget_idempotency(service.clock.now() + timedelta(seconds=1), 100) == 1
    status, again, _ = await service.call("POST", "/v1/repairs", json=body, headers=headers)
    assert status == 201 and again["repair"]["state"] == "cancelled"
    status, problem, _ = await service.call("GET", _path(again["customer_label"]["url"]), None)
    assert status == 404 and problem["code"] == "label.not_found"


async def test_label_tokens_never_reach_the_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LINK-11"))
    token = created["customer_label"]["url"].rsplit("/", 1)[1]
    with caplog.at_level(logging.DEBUG):
        for path in (f"/v1/labels/{token}", "/v1/labels/" + "B" * 32):
            await service.call("GET", path, None)
    lines = [(record.getMessage(), str(record.__dict__)) for record in caplog.records]
    assert any("/v1/labels/{token}" in message for message, _ in lines)  # the downloads were logged...
    assert not any(token in message or token in extra for message, extra in lines)  # ... without the token
    assert not any("B" * 32 in message or "B" * 32 in extra for message, extra in lines)


async def test_text_is_trimmed_and_the_longest_accepted_lines_still_make_a_label(service: Service) -> None:
    body = repair_request(CORSICA_SITE, "C-LINK-12")
    body["site"]["name"] = "  " + "N" * 35 + "  "
    body["site"]["company"] = "C" * 35
    body["entitlement"]["items"] = [{"kind": "battery", "description": "D" * 60}]
    status, created, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status == 201 and created["repair"]["site"]["name"] == "N" * 35
    customer = ("GET", _path(created["customer_label"]["url"]), None)
    case_system = ("GET", f"/v1/repairs/{created['repair']['id']}/labels/inbound", "case_system")
    for method, path, who in (customer, case_system):
        status, _, response = await service.call(method, path, who)
        assert status == 200 and response.content_type == "application/pdf"
