"""Customers' label links: the PDF by token alone; unknown, expired and revoked tokens answer the same 404."""

from __future__ import annotations

import sqlite3

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
