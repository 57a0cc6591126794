"""The DHL Express adapter over HTTP against the fake MyDHL server: wire details, errors and faults."""

from __future__ import annotations

import base64
import io
import logging
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pypdf import PdfReader

from carriers.base import CarrierContext
from carriers.dhl_express import PLUGIN
from carriers.dhl_express.adapter import DhlExpressAdapter
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierNotFound,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import TrackingStatus
from tests.carriers.dhl_express.builders import START, pickup_request, settings_for, shipment_request
from tests.fakes.dhl_server import FakeDhlServer, Fault, waybill
from tests.support.barcodes import decode_pdf
from tests.support.clock import ManualClock

S = TrackingStatus


def _adapter(fake: FakeDhlServer, context: CarrierContext, **overrides: object) -> DhlExpressAdapter:
    built = PLUGIN.factory(settings_for(fake, **overrides), context)
    assert isinstance(built, DhlExpressAdapter)
    return built


# -- the plug-in -------------------------------------------------------------------------------------------


def test_secrets_stay_out_of_reprs(adapter: DhlExpressAdapter, dhl_settings: object) -> None:
    assert "fake-secret" not in repr(adapter)
    assert "fake-secret" not in repr(dhl_settings)


# -- what goes on the wire ---------------------------------------------------------------------------------


async def test_headers_carry_basic_auth_version_and_our_reference(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    await adapter.schedule_pickup(pickup_request("CASE-10-PICKUP"))
    await adapter.create_shipment(shipment_request("CASE-10-OUT"))
    sent = fake_dhl.requests
    assert [r["operation"] for r in sent] == ["create_pickup", "create_shipment"]
    for request, reference in zip(sent, ["CASE-10-PICKUP", "CASE-10-OUT"], strict=True):
        headers = request["headers"]
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"fake-key:fake-secret").decode()
        assert headers["x-version"] == "3.1.0"
        assert 28 <= len(headers["Message-Reference"]) <= 36
        assert headers["Message-Reference"].startswith(reference + "-")
    # Each message is unique, even for the same reference.
    await adapter.create_shipment(shipment_request("CASE-10-OUT"))
    assert sent[1]["headers"]["Message-Reference"] != sent[2]["headers"]["Message-Reference"]


async def test_secrets_are_never_logged(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await adapter.create_shipment(shipment_request("CASE-11"))
    fake_dhl.inject("track", Fault.process_failure())
    with pytest.raises(CarrierUnavailable):
        await adapter.track([waybill(1)])
    token = base64.b64encode(b"fake-key:fake-secret").decode()
    assert caplog.records
    assert "fake-secret" not in caplog.text
    assert token not in caplog.text


async def test_shipment_books_a_valid_waybill_with_a_pdf_label(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    booking = await adapter.create_shipment(shipment_request("CASE-12", parcels=2))
    assert fake_dhl.booking_count("CASE-12", "shipment") == 1
    assert booking.shipment_id == fake_dhl.bookings["CASE-12"][0].number
    assert booking.label is not None
    page = PdfReader(io.BytesIO(booking.label.data)).pages[0]
    assert "DHL EXPRESS" in page.extract_text()
    assert ("Code39", booking.shipment_id) in decode_pdf(booking.label.data)  # the waybill, as DHL prints it
    assert booking.label.data == fake_dhl.labels[booking.shipment_id]
    assert booking.service == "N"
    assert booking.routing_code


async def test_return_label_is_printable_by_the_customer(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    booking = await adapter.create_shipment(shipment_request("CASE-13-RET", is_return=True))
    sent = fake_dhl.bookings["CASE-13-RET"][0].body
    assert sent["customerDetails"]["shipperDetails"]["postalAddress"]["postalCode"] == "69003"
    assert {"typeCode": "payer", "number": "987654321"} in sent["accounts"]
    assert sent["outputImageProperties"]["imageOptions"][0]["templateName"] == "ECOM26_84_A4_001"
    assert booking.label is not None
    assert booking.label.data.startswith(b"%PDF")


async def test_every_post_is_a_new_booking_at_dhl(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    # DHL does not deduplicate: this is why the service reconciles by reference before creating again.
    first = await adapter.schedule_pickup(pickup_request("CASE-14"))
    second = await adapter.schedule_pickup(pickup_request("CASE-14"))
    assert first.confirmation != second.confirmation
    assert fake_dhl.booking_count("CASE-14", "pickup") == 2


# -- pickups -----------------------------------------------------------------------------------------------


async def test_cancel_sends_requestor_and_reason_and_is_idempotent(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    booking = await adapter.schedule_pickup(pickup_request("CASE-20"))
    await adapter.cancel_pickup(booking)
    assert fake_dhl.pickups[booking.confirmation].cancelled
    assert "requestorName=Repair" in fake_dhl.requests[-1]["query"]
    await adapter.cancel_pickup(booking)  # DHL: 400 "already cancelled or completed"
    unknown = booking.model_copy(update={"confirmation": "CDG250303999999"})
    await adapter.cancel_pickup(unknown)  # DHL: 404 pickup not found


async def test_cancel_failing_at_dhl_is_retryable_not_ambiguous(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    booking = await adapter.schedule_pickup(pickup_request("CASE-21"))
    fake_dhl.inject("cancel_pickup", Fault.process_failure())
    with pytest.raises(CarrierUnavailable):
        await adapter.cancel_pickup(booking)
    await adapter.cancel_pickup(booking)
    assert fake_dhl.pickups[booking.confirmation].cancelled


async def test_cancel_refused_for_another_reason_is_rejected(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    booking = await adapter.schedule_pickup(pickup_request("CASE-22"))
    fake_dhl.inject("cancel_pickup", Fault.rejected("8003: Account not allowed for this service."))
    with pytest.raises(CarrierRejected) as caught:
        await adapter.cancel_pickup(booking)
    assert caught.value.code == "8003"


# -- DHL's validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pickup_date", [date(2025, 3, 1), date(2025, 3, 20)], ids=["past", "beyond-10-days"])
async def test_pickup_date_dhl_refuses_is_rejected_with_998(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer, pickup_date: date
) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await adapter.schedule_pickup(pickup_request("CASE-30", pickup_date=pickup_date))
    assert caught.value.code == "998"
    assert "past date" in caught.value.message
    assert caught.value.operation == "schedule_pickup"
    assert fake_dhl.booking_count("CASE-30") == 0


async def test_ship_date_in_the_past_is_rejected_with_998(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("CASE-31", ship_date=date(2025, 2, 27)))
    assert caught.value.code == "998"
    assert fake_dhl.booking_count("CASE-31") == 0


async def test_schema_error_is_rejected(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("create_shipment", Fault.schema_error())
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("CASE-32"))
    assert caught.value.code == "422"
    assert caught.value.field == "#/content/packages/0"


async def test_wrong_credentials_are_an_auth_error(fake_dhl: FakeDhlServer, context: CarrierContext) -> None:
    adapter = _adapter(fake_dhl, context, api_secret="wrong")
    with pytest.raises(CarrierAuthError):
        await adapter.track([waybill(5)])
    assert fake_dhl.violations == ["GET /tracking: missing or wrong Basic credentials"]
    fake_dhl.violations.clear()


# -- rate limits and server errors -------------------------------------------------------------------------


async def test_rate_limit_with_retry_after_seconds(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("track", Fault.rate_limited("7"))
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.track([waybill(1)])
    assert caught.value.retry_after == 7.0


async def test_rate_limit_with_retry_after_date(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer, clock: ManualClock
) -> None:
    fake_dhl.inject(
        "create_pickup", Fault.rate_limited(format_datetime(clock.now() + timedelta(seconds=30), usegmt=True))
    )
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.schedule_pickup(pickup_request("CASE-40"))
    assert caught.value.retry_after == 30.0
    assert fake_dhl.booking_count("CASE-40") == 0


async def test_rate_limit_without_retry_after(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("create_shipment", Fault.rate_limited())
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.create_shipment(shipment_request("CASE-41"))
    assert caught.value.retry_after is None


async def test_process_failure_on_create_is_ambiguous(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("create_shipment", Fault.process_failure())
    with pytest.raises(CarrierAmbiguousError) as caught:
        await adapter.create_shipment(shipment_request("CASE-42"))
    assert "Process failure" in caught.value.message


async def test_process_failure_on_read_is_transient(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("track", Fault.process_failure())
    with pytest.raises(CarrierUnavailable) as caught:
        await adapter.track([waybill(1)])
    assert caught.value.status == 500


async def test_html_503_on_create_pickup_is_ambiguous(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("create_pickup", Fault.unavailable_html())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.schedule_pickup(pickup_request("CASE-43"))


async def test_html_503_on_lookup_is_transient(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("track", Fault.unavailable_html())
    with pytest.raises(CarrierUnavailable) as caught:
        await adapter.find_shipment("CASE-44")
    assert "Service Temporarily Unavailable" in caught.value.message


# -- timeouts, resets and reconciliation -------------------------------------------------------------------


async def test_stall_on_create_is_ambiguous_and_on_read_a_timeout(
    fake_dhl: FakeDhlServer, context: CarrierContext
) -> None:
    adapter = _adapter(fake_dhl, context, timeout_seconds=0.05)
    fake_dhl.inject("create_shipment", Fault.stall())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("CASE-50"))
    fake_dhl.inject("track", Fault.stall())
    with pytest.raises(CarrierTimeout):
        await adapter.track([waybill(1)])


async def test_connection_reset(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    fake_dhl.inject("create_pickup", Fault.reset())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.schedule_pickup(pickup_request("CASE-51"))
    # aiohttp repeats an idempotent GET once when a pooled connection drops: DHL resets both.
    fake_dhl.inject("track", Fault.reset(), Fault.reset())
    with pytest.raises(CarrierUnavailable):
        await adapter.track([waybill(1)])


async def test_unreachable_server_is_unavailable_even_for_a_create(
    http_session: aiohttp.ClientSession, clock: ManualClock, fake_dhl: FakeDhlServer
) -> None:
    closed = FakeDhlServer(fake_dhl.spec)
    await closed.start()
    url = closed.base_url
    await closed.stop()
    adapter = DhlExpressAdapter(settings_for(fake_dhl, base_url=url), CarrierContext(http_session, clock, fake_sleep))
    with pytest.raises(CarrierUnavailable):
        await adapter.create_shipment(shipment_request("CASE-52"))


async def fake_sleep(seconds: float) -> None:
    return None


async def test_timeout_after_booking_is_reconciled_by_reference(
    fake_dhl: FakeDhlServer, context: CarrierContext
) -> None:
    adapter = _adapter(fake_dhl, context, timeout_seconds=0.05)
    fake_dhl.inject("create_shipment", Fault.stall_after_apply())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("CASE-53"))
    assert fake_dhl.booking_count("CASE-53", "shipment") == 1  # DHL did book it
    found = await adapter.find_shipment("CASE-53")
    assert found is not None
    assert found.shipment_id == fake_dhl.bookings["CASE-53"][0].number
    query = fake_dhl.requests[-1]["query"]
    assert "shipmentReference=CASE-53" in query
    assert "shipperAccountNumber=123456789" in query
    assert fake_dhl.booking_count("CASE-53") == 1  # found, not booked twice


async def test_find_shipment_of_another_account_is_none(
    fake_dhl: FakeDhlServer, context: CarrierContext, adapter: DhlExpressAdapter
) -> None:
    await adapter.create_shipment(shipment_request("CASE-54"))
    other = _adapter(fake_dhl, context, account_number="555555555")
    assert await other.find_shipment("CASE-54") is None


# -- tracking ----------------------------------------------------------------------------------------------


async def test_tracking_several_shipments_with_pieces_in_one_call(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    one = await adapter.create_shipment(shipment_request("CASE-60-A", parcels=2))
    two = await adapter.create_shipment(shipment_request("CASE-60-B", is_return=True))
    paris = ZoneInfo("Europe/Paris")  # the facilities' zone: GET /tracking gives their wall time, no offset
    base = datetime(2025, 3, 4, 1, 0, tzinfo=UTC)
    # Scanned out of order on purpose; DHL lists them oldest first and so must we.
    for hours, code in [(3, "DF"), (1, "PU"), (2, "AF"), (5, "WC"), (6, "OK")]:
        fake_dhl.scan(one.shipment_id, code, (base + timedelta(hours=hours)).astimezone(paris))
    fake_dhl.scan(two.shipment_id, "SA", base)
    fake_dhl.scan(two.shipment_id, "NH", base + timedelta(days=1))
    unknown = waybill(987654321)
    results = await adapter.track([two.shipment_id, unknown, one.shipment_id])
    assert fake_dhl.calls["track"] == 1
    assert [r.tracking_number for r in results] == [two.shipment_id, unknown, one.shipment_id]
    returned, missing, outbound = results
    assert [e.status for e in outbound.events] == [
        S.PICKED_UP,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert outbound.events[0].occurred_at == base + timedelta(hours=1)
    assert all(e.raw_code for e in outbound.events)
    assert [e.status for e in returned.events] == [S.DROPPED_OFF, S.EXCEPTION]
    assert not missing.found


async def test_tracking_nothing_known_yet_is_not_found(adapter: DhlExpressAdapter) -> None:
    results = await adapter.track([waybill(11), waybill(12)])
    assert [r.found for r in results] == [False, False]


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2025, 3, 4, 9, 0), datetime(2025, 3, 4, 8, 0, tzinfo=UTC)),  # CET
        (datetime(2025, 7, 4, 9, 0), datetime(2025, 7, 4, 7, 0, tzinfo=UTC)),  # CEST
    ],
)
async def test_tracking_reads_local_times_without_offsets_in_the_facilities_zone(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer, local: datetime, utc: datetime
) -> None:
    """GET /tracking gives the facility's wall time and no offset: 09:00 in Paris is not 09:00 UTC."""
    number = waybill(77)
    fake_dhl.scan(number, "PU", local.replace(tzinfo=ZoneInfo("Europe/Paris")))
    (result,) = await adapter.track([number])
    assert result.events[0].occurred_at == utc


async def test_track_batch_is_limited_to_dhl_maximum(adapter: DhlExpressAdapter) -> None:
    assert adapter.max_track_batch == 200
    with pytest.raises(ValueError, match="200"):
        await adapter.track([waybill(n) for n in range(201)])


async def test_track_repeated_numbers_once_on_the_wire(adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer) -> None:
    number = waybill(78)
    fake_dhl.scan(number, "PU", START + timedelta(hours=1))
    results = await adapter.track([number, number])
    assert [r.tracking_number for r in results] == [number, number]
    assert fake_dhl.requests[-1]["query"].count("shipmentTrackingNumber=") == 1


async def test_not_found_is_carrier_not_found_on_a_single_lookup(
    adapter: DhlExpressAdapter, fake_dhl: FakeDhlServer
) -> None:
    # Not through the adapter's track (which reads 404 as "not yet"): the error tree is still right.
    with pytest.raises(CarrierNotFound):
        await adapter._call("GET", f"/shipments/{waybill(3)}/tracking", "track")
