"""The fake MyDHL server itself: it refuses what DHL's spec refuses, loudly, and answers in DHL's formats."""

from __future__ import annotations

import base64

import aiohttp

from carriers.dhl_express.adapter import DhlExpressAdapter
from tests.carriers.dhl_express.builders import shipment_request
from tests.fakes.dhl_server import FakeDhlServer

AUTH = {"Authorization": "Basic " + base64.b64encode(b"fake-key:fake-secret").decode()}


async def test_missing_x_version_is_refused_and_recorded(
    fake_dhl: FakeDhlServer, http_session: aiohttp.ClientSession
) -> None:
    async with http_session.get(
        f"{fake_dhl.base_url}/tracking", params={"shipmentTrackingNumber": "1103733901"}, headers=AUTH
    ) as response:
        body = await response.json(content_type=None)
    assert response.status == 400
    assert body["detail"] == "Missing mandatory parameters: x-version"
    assert response.content_type == "application/problem+json"
    assert fake_dhl.violations == ["track: Missing mandatory parameters: x-version"]
    fake_dhl.violations.clear()


async def test_too_long_message_reference_is_refused(
    fake_dhl: FakeDhlServer, http_session: aiohttp.ClientSession
) -> None:
    headers = {**AUTH, "x-version": "3.1.0", "Message-Reference": "x" * 37}
    async with http_session.get(
        f"{fake_dhl.base_url}/tracking", params={"shipmentTrackingNumber": "1103733901"}, headers=headers
    ) as response:
        await response.read()
    assert response.status == 400
    assert any("Message-Reference" in v for v in fake_dhl.violations)
    fake_dhl.violations.clear()


async def test_body_breaking_the_schema_gets_422(fake_dhl: FakeDhlServer, http_session: aiohttp.ClientSession) -> None:
    headers = {**AUTH, "x-version": "3.1.0", "Message-Reference": "m" * 30}
    body = {"plannedShippingDateAndTime": "2025-03-04T14:00:00 GMT+01:00", "productCode": "N", "extra": 1}
    async with http_session.post(f"{fake_dhl.base_url}/shipments", json=body, headers=headers) as response:
        problem = await response.json(content_type=None)
    assert response.status == 422
    assert problem["title"] == "Validation error"
    assert fake_dhl.violations
    assert fake_dhl.bookings == {}
    fake_dhl.violations.clear()


async def test_unknown_query_parameter_is_refused(fake_dhl: FakeDhlServer, http_session: aiohttp.ClientSession) -> None:
    headers = {**AUTH, "x-version": "3.1.0"}
    params = {"shipmentTrackingNumber": "1103733901", "trackingview": "all-checkpoints"}
    async with http_session.get(f"{fake_dhl.base_url}/tracking", params=params, headers=headers) as response:
        await response.read()
    assert response.status == 400
    assert fake_dhl.violations == ["track: Unknown parameters: trackingview"]
    fake_dhl.violations.clear()


async def test_bookings_endpoint_lists_bookings_by_reference(
    fake_dhl: FakeDhlServer, http_session: aiohttp.ClientSession, adapter: DhlExpressAdapter
) -> None:
    first = await adapter.create_shipment(shipment_request("CASE-90"))
    second = await adapter.create_shipment(shipment_request("CASE-90"))
    async with http_session.get(f"{fake_dhl.base_url}/__fake/bookings") as response:
        listed = await response.json()
    assert [b["number"] for b in listed["CASE-90"]] == [first.shipment_id, second.shipment_id]
    assert {b["kind"] for b in listed["CASE-90"]} == {"shipment"}
    assert fake_dhl.booking_count("CASE-90") == 2
