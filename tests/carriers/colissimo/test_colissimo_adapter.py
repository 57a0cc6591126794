"""The Colissimo adapter over HTTP against the fake SLS and Suivi servers: wire details, errors and faults."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import aiohttp
import pytest
from pypdf import PdfReader

from carriers.base import CarrierContext
from carriers.colissimo import PLUGIN
from carriers.colissimo.adapter import ColissimoAdapter
from carriers.colissimo.mapping import is_valid_s10
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierNotSupported,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import Parcel, TrackingStatus
from carriers.registry import CarrierRegistry, check_access
from tests.carriers.colissimo.builders import (
    BELGIAN_CUSTOMER,
    OVERSEAS_CUSTOMER,
    pickup_request,
    settings_for,
    shipment_request,
)
from tests.fakes.colissimo_server import FakeColissimoServer, Fault, domestic_number
from tests.support.barcodes import decode_pdf
from tests.support.clock import ManualClock

S = TrackingStatus
US_CENTRE = BELGIAN_CUSTOMER.model_copy(
    update={"country": "US", "postal_code": "30328", "city": "Atlanta", "subdivision": "GA"}
)


def _adapter(fake: FakeColissimoServer, context: CarrierContext, **overrides: object) -> ColissimoAdapter:
    built = PLUGIN.factory(settings_for(fake, **overrides), context)
    assert isinstance(built, ColissimoAdapter)
    return built


# -- the plug-in -------------------------------------------------------------------------------------------


def test_keys_stay_out_of_reprs(adapter: ColissimoAdapter, colissimo_settings: object) -> None:
    assert "fake-sls-key" not in repr(adapter) and "fake-okapi-key" not in repr(adapter)
    assert "fake-sls-key" not in repr(colissimo_settings)


async def test_keys_are_never_logged(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    booking = await adapter.create_shipment(shipment_request("CASE-1", is_return=True))
    await adapter.track(list(booking.tracking_numbers))
    fake_colissimo.inject("track", Fault.technical_error())
    with pytest.raises(CarrierUnavailable):
        await adapter.track(list(booking.tracking_numbers))
    assert caplog.records
    assert "fake-sls-key" not in caplog.text and "fake-okapi-key" not in caplog.text


async def test_credentials_check_changes_nothing(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    lines = await adapter.check_credentials()
    assert [line.split(" ")[0] for line in lines] == ["SLS", "Suivi"]
    assert fake_colissimo.labels == {} and fake_colissimo.pickups == {}


@pytest.mark.parametrize("wrong", ["api_key", "okapi_key"])
async def test_credentials_check_names_a_refused_key(
    fake_colissimo: FakeColissimoServer, context: CarrierContext, wrong: str
) -> None:
    adapter = _adapter(fake_colissimo, context, **{wrong: "wrong"})
    with pytest.raises(CarrierAuthError):
        await adapter.check_credentials()
    fake_colissimo.violations.clear()


# -- labels ------------------------------------------------------------------------------------------------


async def test_return_label_is_a_10x15_pdf_whose_barcode_reads_the_parcel_number(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    booking = await adapter.create_shipment(shipment_request("CASE-2-RET", is_return=True))
    number = booking.shipment_id
    assert number.startswith("8R") and len(number) == 13
    assert booking.tracking_numbers == (number,)
    assert booking.service == "CORE"
    assert booking.label is not None and booking.label.content_type == "application/pdf"
    page = PdfReader(io.BytesIO(booking.label.data)).pages[0]
    assert (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)) == (283.5, 425.2)
    assert ("Code128", number) in decode_pdf(booking.label.data)


async def test_our_reference_travels_as_order_number_and_the_key_as_a_header(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    await adapter.create_shipment(shipment_request("rp_0193a5b2c3d4e5f6a7b8-in", is_return=True))
    sent = fake_colissimo.requests[-1]
    assert sent.path == "/sls-ws/SlsServiceWSRest/2.0/generateLabel"
    assert sent.headers["apiKey"] == "fake-sls-key"
    assert "contractNumber" not in sent.body and "password" not in sent.body
    service = sent.body["letter"]["service"]
    assert service["orderNumber"] == "rp_0193a5b2c3d4e5f6a7b8-in"
    assert service["depositDate"] == "2025-03-04"
    assert sent.body["letter"]["sender"]["address"]["zipCode"] == "69003"  # the customer sends it back
    assert sent.body["letter"]["addressee"]["address"]["companyName"] == "Centre de réparation Lyon"
    assert fake_colissimo.label_count("rp_0193a5b2c3d4e5f6a7b8-in") == 1


async def test_return_products_follow_the_customer_origin(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    overseas = await adapter.create_shipment(shipment_request("CASE-3-OM", is_return=True, shipper=OVERSEAS_CUSTOMER))
    abroad = await adapter.create_shipment(shipment_request("CASE-3-BE", is_return=True, shipper=BELGIAN_CUSTOMER))
    home = await adapter.create_shipment(shipment_request("CASE-3-OUT"))
    assert (overseas.service, abroad.service, home.service) == ("CORI", "CORF", "DOS")
    assert overseas.shipment_id.startswith("7R")
    assert is_valid_s10(abroad.shipment_id) and abroad.shipment_id.startswith("CQ")
    assert home.shipment_id.startswith("6A")


async def test_every_label_is_a_new_parcel_at_colissimo(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    # SLS does not deduplicate: why the service never sends a create twice without knowing the first's fate.
    first = await adapter.create_shipment(shipment_request("CASE-4", is_return=True))
    second = await adapter.create_shipment(shipment_request("CASE-4", is_return=True))
    assert first.shipment_id != second.shipment_id
    assert fake_colissimo.label_count("CASE-4") == 2


async def test_weight_over_30_kg_is_refused_by_colissimo(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    heavy = Parcel(weight_kg=Decimal("31"), length_cm=70, width_cm=60, height_cm=40)
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("CASE-5", is_return=True, parcel=heavy))
    assert caught.value.code == "30108"
    assert "poids" in caught.value.message
    assert fake_colissimo.label_count("CASE-5") == 0


async def test_deposit_date_in_the_past_is_refused(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("CASE-6", is_return=True, ship_date=date(2025, 2, 27)))
    assert caught.value.code == "30103"


async def test_refused_credentials_are_an_auth_error(
    fake_colissimo: FakeColissimoServer, context: CarrierContext
) -> None:
    adapter = _adapter(fake_colissimo, context, api_key="wrong")
    with pytest.raises(CarrierAuthError) as caught:
        await adapter.create_shipment(shipment_request("CASE-7", is_return=True))
    assert "30000" in caught.value.message
    assert fake_colissimo.violations == ["generate_label: missing or wrong apiKey header"]
    fake_colissimo.violations.clear()


async def test_a_reference_too_long_for_order_number_is_refused_before_calling(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("R" * 31, is_return=True))
    assert caught.value.field == "reference"
    assert fake_colissimo.calls["generate_label"] == 0


async def test_a_return_to_a_centre_elsewhere_in_the_eu_is_an_international_label(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    request = shipment_request("CASE-8", is_return=True).model_copy(update={"recipient": BELGIAN_CUSTOMER})
    booking = await adapter.create_shipment(request)
    assert booking.service == "DOS"
    outside = request.model_copy(update={"recipient": US_CENTRE})
    with pytest.raises(CarrierNotSupported):
        await adapter.create_shipment(outside)
    assert fake_colissimo.calls["generate_label"] == 1


# -- faults on a label: a create may have been applied -----------------------------------------------------


async def test_technical_error_on_a_label_is_ambiguous(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    fake_colissimo.inject("generate_label", Fault.technical_error())
    with pytest.raises(CarrierAmbiguousError) as caught:
        await adapter.create_shipment(shipment_request("CASE-10", is_return=True))
    assert "20000" in caught.value.message


async def test_stall_after_the_label_exists_is_ambiguous_and_the_parcel_carries_our_reference(
    fake_colissimo: FakeColissimoServer, context: CarrierContext
) -> None:
    adapter = _adapter(fake_colissimo, context, timeout_seconds=0.05)
    fake_colissimo.inject("generate_label", Fault.stall_after_apply())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("CASE-11", is_return=True))
    # Colissimo did create it, under our reference: what an operator reconciles from.
    assert fake_colissimo.label_count("CASE-11") == 1


async def test_reset_on_a_label_is_ambiguous_and_rate_limit_is_transient(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    fake_colissimo.inject("generate_label", Fault.reset())
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("CASE-12", is_return=True))
    fake_colissimo.inject("generate_label", Fault.rate_limited("3"))
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.create_shipment(shipment_request("CASE-12", is_return=True))
    assert caught.value.retry_after == 3.0
    assert fake_colissimo.label_count("CASE-12") == 0


async def test_unreachable_sls_is_unavailable_even_for_a_label(
    http_session: aiohttp.ClientSession, clock: ManualClock, fake_colissimo: FakeColissimoServer
) -> None:
    closed = FakeColissimoServer(fake_colissimo.spec)
    await closed.start()
    url = closed.sls_url
    await closed.stop()
    adapter = ColissimoAdapter(
        settings_for(fake_colissimo, base_url=url), CarrierContext(http_session, clock, _no_sleep)
    )
    with pytest.raises(CarrierUnavailable):
        await adapter.create_shipment(shipment_request("CASE-13", is_return=True))


async def _no_sleep(seconds: float) -> None:
    return None


# -- the letterbox pickup ----------------------------------------------------------------------------------


async def test_letterbox_pickup_is_planned_for_the_parcel_of_the_return_label(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    label = await adapter.create_shipment(shipment_request("CASE-20", is_return=True))
    booking = await adapter.schedule_pickup(pickup_request("CASE-20-p1", label.shipment_id))
    assert booking.confirmation == label.shipment_id
    assert booking.pickup_date == date(2025, 3, 4)
    planned = fake_colissimo.pickups[label.shipment_id]
    assert planned.day == date(2025, 3, 4) and planned.sender["zipCode"] == "69003"
    sent = fake_colissimo.requests[-1].body
    assert sent["mailBoxPickingDate"] == "2025-03-04"


async def test_planning_the_same_parcel_again_is_the_same_pickup(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    number = fake_colissimo.announce("CORE")
    await adapter.schedule_pickup(pickup_request("CASE-21-p1", number))
    await adapter.schedule_pickup(pickup_request("CASE-21-p1", number))
    assert len(fake_colissimo.pickups) == 1
    assert fake_colissimo.pickups[number].confirmations == 2


async def test_a_pickup_failure_is_retryable_never_ambiguous(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    number = fake_colissimo.announce("CORE")
    fake_colissimo.inject("plan_pickup", Fault.technical_error())
    with pytest.raises(CarrierUnavailable):
        await adapter.schedule_pickup(pickup_request("CASE-22-p1", number))


@pytest.mark.parametrize(
    ("day", "product", "code"),
    [(date(2025, 3, 3), "CORE", "30305"), (date(2025, 3, 8), "CORE", "30305"), (date(2025, 3, 4), "CORI", "30301")],
    ids=["today", "saturday", "overseas-product"],
)
async def test_a_letterbox_pickup_colissimo_does_not_offer_is_refused(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer, day: date, product: str, code: str
) -> None:
    number = fake_colissimo.announce(product)
    with pytest.raises(CarrierRejected) as caught:
        await adapter.schedule_pickup(pickup_request("CASE-23-p1", number, pickup_date=day))
    assert caught.value.code == code
    assert fake_colissimo.pickups == {}


async def test_after_the_cut_off_tomorrow_is_no_longer_offered(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer, clock: ManualClock
) -> None:
    clock.set(datetime(2025, 3, 3, 19, 30, tzinfo=UTC))  # 20:30 in Paris
    number = fake_colissimo.announce("CORE")
    with pytest.raises(CarrierRejected):
        await adapter.schedule_pickup(pickup_request("CASE-24-p1", number))
    await adapter.schedule_pickup(pickup_request("CASE-24-p1", number, pickup_date=date(2025, 3, 5)))


async def test_a_pickup_without_the_parcel_number_is_refused_before_calling(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    request = pickup_request("CASE-25-p1", "x").model_copy(update={"tracking_numbers": ()})
    with pytest.raises(CarrierRejected) as caught:
        await adapter.schedule_pickup(request)
    assert caught.value.field == "tracking_numbers"
    assert fake_colissimo.calls["plan_pickup"] == 0


async def test_cancel_and_lookups_are_not_offered(adapter: ColissimoAdapter) -> None:
    booking = await adapter.create_shipment(shipment_request("CASE-26", is_return=True))
    with pytest.raises(CarrierNotSupported):
        await adapter.void_shipment(booking)
    with pytest.raises(CarrierNotSupported):
        await adapter.find_shipment("CASE-26")


# -- tracking ----------------------------------------------------------------------------------------------


async def test_tracking_several_parcels_in_one_call_oldest_first_with_raw_codes(
    adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer
) -> None:
    one = await adapter.create_shipment(shipment_request("CASE-30-A", is_return=True))
    two = await adapter.create_shipment(shipment_request("CASE-30-B", is_return=True))
    paris = timezone(timedelta(hours=1))
    base = datetime(2025, 3, 4, 9, 0, tzinfo=paris)
    for hours, code in [(3, "ET1"), (0, "PC1"), (5, "ET2"), (20, "MD2"), (23, "DI1")]:
        fake_colissimo.scan(one.shipment_id, code, base + timedelta(hours=hours))
    fake_colissimo.scan(two.shipment_id, "ND1", base)
    unknown = domestic_number("8R", 9999999999)
    results = await adapter.track([two.shipment_id, unknown, one.shipment_id])
    assert fake_colissimo.calls["track"] == 1
    assert fake_colissimo.requests[-1].path.endswith(f"{two.shipment_id},{unknown},{one.shipment_id}")
    assert "lang=fr_FR" in fake_colissimo.requests[-1].query
    returned, missing, delivered = results
    assert [e.raw_code for e in delivered.events] == ["PC1", "ET1", "ET2", "MD2", "DI1"]
    assert [e.status for e in delivered.events] == [
        S.DROPPED_OFF,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert delivered.events[0].occurred_at == base
    assert [e.status for e in returned.events] == [S.EXCEPTION]
    assert not missing.found


async def test_a_new_label_shows_as_announced(adapter: ColissimoAdapter) -> None:
    booking = await adapter.create_shipment(shipment_request("CASE-31", is_return=True))
    (result,) = await adapter.track([booking.shipment_id])
    assert result.found
    assert [(e.raw_code, e.status) for e in result.events] == [("DR1", S.LABEL_CREATED)]


async def test_not_yet_available_is_not_found(adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer) -> None:
    (result,) = await adapter.track([domestic_number("8R", 1234567890)])
    assert not result.found
    assert fake_colissimo.calls["track"] == 1


async def test_a_malformed_number_is_not_sent(adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer) -> None:
    results = await adapter.track(["NOT-A-PARCEL", "CB662173704US"])  # a wrong S10 check digit
    assert [r.found for r in results] == [False, False]
    assert fake_colissimo.calls["track"] == 0


async def test_track_batch_is_limited_to_ten(adapter: ColissimoAdapter) -> None:
    assert adapter.max_track_batch == 10
    with pytest.raises(ValueError, match="10"):
        await adapter.track([domestic_number("8R", n) for n in range(11)])


async def test_tracking_faults(adapter: ColissimoAdapter, fake_colissimo: FakeColissimoServer) -> None:
    number = domestic_number("8R", 55)
    fake_colissimo.inject("track", Fault.rate_limited())
    with pytest.raises(CarrierRateLimited) as limited:
        await adapter.track([number])
    assert limited.value.retry_after is None
    assert "TOO_MANY_REQUESTS" in limited.value.message
    fake_colissimo.inject("track", Fault.unavailable_html())
    with pytest.raises(CarrierUnavailable) as html:
        await adapter.track([number])
    assert "Service Unavailable" in html.value.message


async def test_a_stalled_tracking_call_is_a_timeout(
    fake_colissimo: FakeColissimoServer, context: CarrierContext
) -> None:
    adapter = _adapter(fake_colissimo, context, timeout_seconds=0.05)
    fake_colissimo.inject("track", Fault.stall())
    with pytest.raises(CarrierTimeout):
        await adapter.track([domestic_number("8R", 56)])


async def test_a_wrong_okapi_key_is_an_auth_error(fake_colissimo: FakeColissimoServer, context: CarrierContext) -> None:
    adapter = _adapter(fake_colissimo, context, okapi_key="wrong")
    with pytest.raises(CarrierAuthError):
        await adapter.track([domestic_number("8R", 57)])
    fake_colissimo.violations.clear()


# -- enabled without keys ------------------------------------------------------------------------------------


async def test_without_keys_every_call_is_refused_before_sending(
    fake_colissimo: FakeColissimoServer, context: CarrierContext, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = _adapter(fake_colissimo, context, api_key=None, okapi_key=None)
    assert "api_key and okapi_key" in caplog.text
    with pytest.raises(CarrierAuthError, match=r"carriers\.colissimo\.api_key"):
        await adapter.create_shipment(shipment_request("CASE-90", is_return=True))
    with pytest.raises(CarrierAuthError, match=r"carriers\.colissimo\.okapi_key"):
        await adapter.track([domestic_number("8R", 90)])
    assert fake_colissimo.requests == []


@pytest.mark.parametrize(("key", "ok"), [(None, True), ("api_key", False), ("okapi_key", False)])
async def test_carriers_check_gives_colissimo_its_verdict(
    fake_colissimo: FakeColissimoServer, context: CarrierContext, key: str | None, ok: bool
) -> None:
    configured = {
        "base_url": fake_colissimo.sls_url,
        "tracking_base_url": fake_colissimo.suivi_url,
        "api_key": fake_colissimo.api_key,
        "okapi_key": fake_colissimo.okapi_key,
    }
    if key is not None:
        configured[key] = "wrong"
    verdicts = await check_access(CarrierRegistry.discover(), {"colissimo": configured}, context)
    assert [(v.carrier, v.ok) for v in verdicts] == [("colissimo", ok)]
    assert ("accepted" in verdicts[0].detail) if ok else ("credentials refused" in verdicts[0].detail)
    assert fake_colissimo.labels == {} and fake_colissimo.pickups == {}
    fake_colissimo.violations.clear()
