"""The fake Colissimo itself: it refuses what Colissimo's description refuses, loudly, and answers as SLS does."""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp

from carriers.colissimo import mapping
from tests.carriers.colissimo.builders import offline_settings, shipment_request
from tests.fakes.colissimo_server import FakeColissimoServer

KEY = {"apiKey": "fake-sls-key"}


def _label_body(**service: Any) -> dict[str, Any]:
    body = mapping.label_body(shipment_request("FAKE-1", is_return=True), offline_settings())
    body["letter"]["service"].update(service)
    return body


async def _post(
    session: aiohttp.ClientSession, fake: FakeColissimoServer, operation: str, body: Any
) -> tuple[int, str, bytes]:
    async with session.post(f"{fake.sls_url}/{operation}", json=body, headers=KEY) as response:
        return response.status, response.headers["Content-Type"], await response.read()


async def test_an_undeclared_field_is_refused_and_recorded(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    status, content_type, raw = await _post(http_session, fake_colissimo, "generateLabel", _label_body(colour="red"))
    assert status == 400
    assert mapping.read_sls_answer(content_type, raw).infos.first_error() is not None
    assert any("colour" in v for v in fake_colissimo.violations)
    assert fake_colissimo.labels == {}
    fake_colissimo.violations.clear()


async def test_a_deposit_date_with_a_time_is_refused_as_the_description_says(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    body = _label_body(depositDate="2025-03-04T00:00:00Z")
    status, _, _ = await _post(http_session, fake_colissimo, "generateLabel", body)
    assert status == 400
    assert fake_colissimo.violations == [
        "generate_label: depositDate '2025-03-04T00:00:00Z' is not a date like 2022-06-25"
    ]
    fake_colissimo.violations.clear()


async def test_deprecated_contract_credentials_are_refused(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    body = {**_label_body(), "contractNumber": "123456", "password": "secret"}
    status, _, _ = await _post(http_session, fake_colissimo, "generateLabel", body)
    assert status == 400
    assert any("deprecated" in v for v in fake_colissimo.violations)
    fake_colissimo.violations.clear()


async def test_zpl_is_answered_where_asked(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    body = _label_body()
    body["outputFormat"]["outputPrintingType"] = "ZPL_10x15_203dpi"
    status, content_type, raw = await _post(http_session, fake_colissimo, "generateLabel", body)
    assert status == 200 and content_type.startswith("multipart/mixed")
    answer = mapping.read_sls_answer(content_type, raw)
    assert answer.infos.labelV2Response is not None
    number = answer.infos.labelV2Response.parcelNumber
    assert answer.label is not None and answer.label.startswith(b"^XA")
    assert f"^FD{number}^FS".encode() in answer.label


async def test_letterbox_dates_are_business_days_after_today(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    body = {"sender": {"line2": "12 rue des Lilas", "zipCode": "69003", "city": "Lyon", "countryCode": "FR"}}
    async with http_session.post(
        f"{fake_colissimo.sls_url}/getListMailBoxPickingDates", json=body, headers=KEY
    ) as response:
        answer = await response.json()
    assert answer["mailBoxPickingDateMaxHour"] == "20:00"
    offered = [date.fromisoformat(d[:10]) for d in answer["mailBoxPickingDates"]]
    assert offered[:5] == [date(2025, 3, 4), date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7), date(2025, 3, 10)]


async def test_suivi_wants_its_key_json_and_well_formed_ids(
    fake_colissimo: FakeColissimoServer, http_session: aiohttp.ClientSession
) -> None:
    url = f"{fake_colissimo.suivi_url}/idships/8R00000000001"
    async with http_session.get(url, headers={"X-Okapi-Key": "fake-okapi-key"}) as response:
        assert response.status == 400  # no Accept: application/json
    async with http_session.get(
        f"{fake_colissimo.suivi_url}/idships/SHORT",
        headers={"X-Okapi-Key": "fake-okapi-key", "Accept": "application/json"},
    ) as response:
        body = await response.json()
    assert response.status == 400 and body["returnCode"] == 400
    assert len(fake_colissimo.violations) == 2
    fake_colissimo.violations.clear()
