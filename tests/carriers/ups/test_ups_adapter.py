"""UPS-specific behaviour of the adapter against the fake UPS server: tokens, faults, reconciliation, wire."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from pydantic import SecretStr

from carriers.base import CarrierContext
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierPushAuthError,
    CarrierPushMalformed,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import TrackingStatus
from carriers.resilience import ResilientCarrier
from carriers.resilience.policy import CallPolicy
from carriers.ups import PLUGIN
from carriers.ups.client import UpsAdapter
from carriers.ups.settings import UpsSettings
from tests.carriers.ups.builders import CUSTOMER, pickup_request, shipment_request
from tests.carriers.ups.conftest import WEBHOOK_CREDENTIAL
from tests.fakes.ups_server import FakeUps, Fault, Scan, is_valid_1z
from tests.support.clock import ManualClock


async def _no_sleep(seconds: float) -> None:
    return None


def _adapter(settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, **update: object) -> UpsAdapter:
    built = PLUGIN.factory(settings.model_copy(update=update), CarrierContext(session, clock, _no_sleep))
    assert isinstance(built, UpsAdapter)
    return built


def _tomorrow(clock: ManualClock) -> date:
    return clock.now().date() + timedelta(days=1)


# -- OAuth -----------------------------------------------------------------------------------------------


async def test_token_is_cached_between_calls(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    booking = await adapter.create_shipment(shipment_request("CACHE1", clock.now().date()))
    await adapter.track([booking.tracking_numbers[0]])
    await adapter.find_shipment("CACHE1")
    assert fake.token_requests == 1


async def test_token_is_renewed_before_it_expires(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    booking = await adapter.create_shipment(shipment_request("RENEW1", clock.now().date()))
    clock.advance(seconds=fake.token_lifetime_s - 600)  # before the renewal margin
    await adapter.track([booking.tracking_numbers[0]])
    assert fake.token_requests == 1
    clock.advance(seconds=400)  # now within the 300 s renewal margin
    await adapter.track([booking.tracking_numbers[0]])
    assert fake.token_requests == 2


async def test_expired_token_is_refreshed_once_and_the_call_resent(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    booking = await adapter.create_shipment(shipment_request("EXP1", clock.now().date()))
    fake.expire_tokens()
    results = await asyncio.gather(*(adapter.track([booking.tracking_numbers[0]]) for _ in range(5)))
    assert all(result[0].found for result in results)
    # Five callers saw the 401 at once; one fetched the new token (single flight).
    assert fake.token_requests == 2


async def test_second_401_after_refresh_is_an_auth_error(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    fake.inject("track", Fault("expired_token"), Fault("expired_token"))
    with pytest.raises(CarrierAuthError):
        await adapter.track(["1ZA1B2C31100000011"])
    assert fake.token_requests == 2
    assert fake.calls["track"] == 2


async def test_bad_client_credentials_are_an_auth_error(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps
) -> None:
    wrong = _adapter(settings, session, clock, client_secret=SecretStr("not-the-secret"))
    with pytest.raises(CarrierAuthError):
        await wrong.track(["1ZA1B2C31100000011"])


async def test_token_endpoint_rate_limit_is_transient(adapter: UpsAdapter, fake: FakeUps) -> None:
    fake.inject("oauth", Fault("rate_limited"))
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.track(["1ZA1B2C31100000011"])
    assert caught.value.retry_after is None


# -- HTTP failures ---------------------------------------------------------------------------------------


async def test_429_without_headers_has_no_retry_after(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    fake.inject("schedule_pickup", Fault("rate_limited"))
    with pytest.raises(CarrierRateLimited) as caught:
        await adapter.schedule_pickup(pickup_request("RL1", _tomorrow(clock)))
    assert caught.value.retry_after is None
    assert fake.pickup_bookings("RL1") == []


@pytest.mark.parametrize("seconds", [7, 30])
async def test_429_retry_after_seconds_and_http_date(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock, seconds: int
) -> None:
    fake.inject("track", Fault("rate_limited", retry_after=str(seconds)))
    fake.inject(
        "track",
        Fault("rate_limited", retry_after=format_datetime(clock.now() + timedelta(seconds=seconds), usegmt=True)),
    )
    for _ in range(2):
        with pytest.raises(CarrierRateLimited) as caught:
            await adapter.track(["1ZA1B2C31100000011"])
        assert caught.value.retry_after == pytest.approx(seconds)


async def test_html_503_on_a_create_is_ambiguous_and_on_a_read_unavailable(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    fake.inject("create_shipment", Fault("unavailable_html"))
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("HTML1", clock.now().date()))
    fake.inject("track", Fault("unavailable_html"))
    with pytest.raises(CarrierUnavailable) as caught:
        await adapter.track(["1ZA1B2C31100000011"])
    assert caught.value.status == 503
    assert "<" not in caught.value.message  # markup stripped


async def test_stall_beyond_the_timeout(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps
) -> None:
    quick = _adapter(settings, session, clock, request_timeout_s=0.05)
    fake.inject("schedule_pickup", Fault("stall"))
    with pytest.raises(CarrierAmbiguousError):
        await quick.schedule_pickup(pickup_request("STALL1", _tomorrow(clock)))
    fake.inject("track", Fault("stall"))
    with pytest.raises(CarrierTimeout):
        await quick.track(["1ZA1B2C31100000011"])


async def test_connection_reset(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    fake.inject("create_shipment", Fault("reset"))
    with pytest.raises(CarrierAmbiguousError):
        await adapter.create_shipment(shipment_request("RESET1", clock.now().date()))
    # aiohttp itself resends an idempotent request once when a kept-alive connection drops: reset twice.
    fake.inject("find_pickup", Fault("reset"), Fault("reset"))
    with pytest.raises(CarrierUnavailable):
        await adapter.find_pickup("RESET1", clock.now().date())


async def test_validation_rejection_keeps_ups_code(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    fake.inject("create_shipment", Fault("reject", code="120802", message="Address Validation Error on ShipTo address"))
    with pytest.raises(CarrierRejected) as caught:
        await adapter.create_shipment(shipment_request("REJ1", clock.now().date()))
    assert caught.value.code == "120802"
    assert "ShipTo" in caught.value.message


# -- reconciliation: never twice ---------------------------------------------------------------------------


async def test_pickup_timeout_after_booking_is_found_by_reference(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps
) -> None:
    quick = _adapter(settings, session, clock, request_timeout_s=0.05)
    request = pickup_request("AMB-PICKUP-1", _tomorrow(clock))
    fake.inject("schedule_pickup", Fault("timeout_after_apply"))
    with pytest.raises(CarrierAmbiguousError):
        await quick.schedule_pickup(request)
    found = await quick.find_pickup(request.reference, request.pickup_date)
    assert found is not None
    assert [found.confirmation] == fake.pickup_bookings("AMB-PICKUP-1")


async def test_resilient_wrapper_books_a_shipment_exactly_once(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps
) -> None:
    quick = _adapter(settings, session, clock, request_timeout_s=0.05)
    resilient = ResilientCarrier(quick, CallPolicy(attempt_timeout_s=2, deadline_s=10), sleep=_no_sleep)
    fake.inject("create_shipment", Fault("timeout_after_apply"))
    booking = await resilient.create_shipment(shipment_request("AMB-SHIP-1", clock.now().date()))
    assert fake.shipment_bookings("AMB-SHIP-1") == [booking.shipment_id]
    assert fake.shipment_creations["AMB-SHIP-1"] == 1


async def test_same_address_and_date_gets_the_same_prn(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    first = await adapter.schedule_pickup(pickup_request("DUP-1", _tomorrow(clock)))
    second = await adapter.schedule_pickup(pickup_request("DUP-1", _tomorrow(clock)))
    assert first.confirmation == second.confirmation
    assert fake.pickup_bookings("DUP-1") == [first.confirmation]
    assert fake.pickup_creations["DUP-1"] == 2


async def test_pending_status_shows_only_today_and_tomorrow(adapter: UpsAdapter, clock: ManualClock) -> None:
    later = clock.now().date() + timedelta(days=3)
    booking = await adapter.schedule_pickup(pickup_request("LATER-1", later))
    assert await adapter.find_pickup("LATER-1", later) is None
    clock.advance(days=2)
    found = await adapter.find_pickup("LATER-1", later)
    assert found is not None
    assert found.confirmation == booking.confirmation


async def test_cancel_refused_while_pickup_is_pending_is_raised(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    booking = await adapter.schedule_pickup(pickup_request("CANCEL-1", _tomorrow(clock)))
    fake.inject("cancel_pickup", Fault("reject", code="9510120", message="Pickup cannot be cancelled now"))
    with pytest.raises(CarrierRejected):
        await adapter.cancel_pickup(booking)
    await adapter.cancel_pickup(booking)
    assert fake.pickups[booking.confirmation].cancelled
    assert await adapter.find_pickup("CANCEL-1", booking.pickup_date) is None


async def test_void_refused_counts_as_done_only_when_tracking_shows_it_voided(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    booking = await adapter.create_shipment(shipment_request("VOID-1", clock.now().date()))
    fake.inject("void_shipment", Fault("reject", code="190117", message="Void failed"))
    with pytest.raises(CarrierRejected):
        await adapter.void_shipment(booking)
    await adapter.void_shipment(booking)
    fake.inject("void_shipment", Fault("reject", code="190117", message="Void failed"))
    await adapter.void_shipment(booking)  # refused, but UPS tracking shows the manifest voided
    assert await adapter.find_shipment("VOID-1") is None


# -- wire details --------------------------------------------------------------------------------------


async def test_return_label_is_a_print_return_label_with_a_gif(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    booking = await adapter.create_shipment(shipment_request("PRL-1", clock.now().date(), is_return=True))
    shipment = fake.last_bodies["create_shipment"]["ShipmentRequest"]["Shipment"]
    assert shipment["ReturnService"]["Code"] == "9"
    assert shipment["ShipFrom"]["Address"]["City"] == CUSTOMER.city
    assert shipment["ShipTo"]["Address"]["City"] == "Lille"
    assert booking.label is not None
    assert booking.label.content_type == "image/gif"
    assert booking.label.data == fake.labels[booking.tracking_numbers[0]]
    assert booking.label.data.startswith(b"GIF8")
    assert all(is_valid_1z(number) for number in booking.tracking_numbers)


async def test_a_notebooks_return_declares_its_battery_and_ups_accepts_it(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    request = shipment_request("PRL-LI", clock.now().date(), is_return=True)
    notebook = request.parcels[0].model_copy(update={"contains_lithium_battery": True})
    booking = await adapter.create_shipment(request.model_copy(update={"parcels": (notebook,)}))
    sent = fake.last_bodies["create_shipment"]["ShipmentRequest"]
    assert sent["Request"]["SubVersion"] == "1701"
    (hazmat,) = sent["Shipment"]["Package"][0]["PackageServiceOptions"]["HazMat"]
    assert (hazmat["IDNumber"], hazmat["PackagingInstructionCode"], hazmat["RegulationSet"]) == ("UN3481", "967", "ADR")
    assert booking.tracking_numbers and fake.schema_violations == []


async def test_every_shipment_post_gets_a_new_tracking_number(adapter: UpsAdapter, clock: ManualClock) -> None:
    first = await adapter.create_shipment(shipment_request("NEW-1", clock.now().date()))
    second = await adapter.create_shipment(shipment_request("NEW-1", clock.now().date()))
    assert first.shipment_id != second.shipment_id


async def test_track_maps_sorts_and_keeps_raw_codes(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    booking = await adapter.create_shipment(shipment_request("TRK-1", clock.now().date()))
    number = booking.tracking_numbers[0]
    start = clock.now()
    fake.add_scan(number, Scan(start + timedelta(hours=30), "D", "FS", "Delivered", "LYON", "FR"))
    fake.add_scan(number, Scan(start + timedelta(hours=2), "I", "OR", "Pickup Scan", "LILLE", "FR"))
    fake.add_scan(number, Scan(start + timedelta(hours=26), "I", "OT", "Out For Delivery Today", "LYON", "FR"))
    fake.add_scan(number, Scan(start + timedelta(hours=8), "X", "RD", "The address is incomplete", "PARIS", "FR"))
    [result] = await adapter.track([number])
    assert result.found
    assert [e.status for e in result.events] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.PICKED_UP,
        TrackingStatus.EXCEPTION,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert [e.raw_code for e in result.events] == ["M/MP", "I/OR", "X/RD", "I/OT", "D/FS"]
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in result.events)
    assert result.events[1].occurred_at == start + timedelta(hours=2)
    assert result.events[-1].location == "LYON, FR"


async def test_track_accepts_more_than_one_number_never(adapter: UpsAdapter) -> None:
    assert adapter.max_track_batch == 1
    with pytest.raises(ValueError, match="one number"):
        await adapter.track(["1ZA1B2C31100000011", "1ZA1B2C31100000029"])


@pytest.mark.parametrize("style", ["404", "warning"])
async def test_unknown_number_is_not_found_in_both_ups_styles(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps, style: str
) -> None:
    fake.not_found = style
    adapter = _adapter(settings, session, clock)
    [result] = await adapter.track(["1ZA1B2C31199999990"])
    assert result.found is False
    assert await adapter.find_shipment("NOPE-1") is None


async def test_single_objects_of_older_versions_are_accepted(
    ups_specs: None, session: aiohttp.ClientSession, clock: ManualClock, settings: UpsSettings
) -> None:
    async with FakeUps(clock=clock.now, legacy_single_objects=True) as legacy:
        adapter = _adapter(settings, session, clock, base_url=legacy.base_url)
        booking = await adapter.create_shipment(shipment_request("LEGACY-1", clock.now().date()))
        assert booking.label is not None
        [result] = await adapter.track([booking.tracking_numbers[0]])
        assert result.found
        assert result.events[0].status is TrackingStatus.LABEL_CREATED
        pickup = await adapter.schedule_pickup(pickup_request("LEGACY-P", _tomorrow(clock)))
        found = await adapter.find_pickup("LEGACY-P", pickup.pickup_date)
        assert found is not None
        assert found.confirmation == pickup.confirmation
        assert await adapter.find_shipment("LEGACY-1") is not None
        assert legacy.schema_violations == []


async def test_the_fake_refuses_a_request_outside_the_schema(
    adapter: UpsAdapter, fake: FakeUps, session: aiohttp.ClientSession
) -> None:
    token = await adapter.tokens.token()
    body = {"ShipmentRequest": {"Request": {"RequestOption": "nonvalidate"}, "Shipment": {"Shipper": {}}}}
    async with session.post(
        f"{fake.base_url}/api/shipments/v2409/ship", json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["response"]["errors"][0]["code"] == "FAKE-SCHEMA"
    assert fake.schema_violations
    fake.schema_violations.clear()  # expected here; any other test fails on a violation


async def test_bookings_endpoint_lists_bookings_per_reference(
    adapter: UpsAdapter, fake: FakeUps, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    booking = await adapter.create_shipment(shipment_request("LIST-1", clock.now().date()))
    pickup = await adapter.schedule_pickup(pickup_request("LIST-P", _tomorrow(clock)))
    async with session.get(f"{fake.base_url}/__fake/bookings") as response:
        listing = await response.json()
    assert listing["shipments"]["LIST-1"][0]["shipment_id"] == booking.shipment_id
    assert listing["pickups"]["LIST-P"][0]["prn"] == pickup.confirmation
    async with session.post(
        f"{fake.base_url}/__fake/faults", json={"operation": "track", "kind": "rate_limited"}
    ) as response:
        assert response.status == 200
    with pytest.raises(CarrierRateLimited):
        await adapter.track([booking.tracking_numbers[0]])


# -- Track Alert pushes ----------------------------------------------------------------------------------


def _push(
    fake: FakeUps, clock: ManualClock, credential: str = WEBHOOK_CREDENTIAL, **kwargs: bool
) -> tuple[dict[str, str], bytes]:
    scan = Scan(clock.now(), "D", "FS", "Delivered", "LYON", "FR")
    return fake.track_alert("1ZA1B2C31100000011", scan, credential=credential, **kwargs)


async def test_push_with_the_subscription_credential_is_parsed(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    headers, body = _push(fake, clock, delivered=True)
    [event] = adapter.parse_push({k.lower(): v for k, v in headers.items()}, body)
    assert event.status is TrackingStatus.DELIVERED
    assert event.raw_code == "D/FS"
    assert event.occurred_at == clock.now()


async def test_push_with_a_wrong_or_missing_credential_is_refused(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    headers, body = _push(fake, clock, credential="guessed")
    with pytest.raises(CarrierPushAuthError):
        adapter.parse_push(headers, body)
    del headers["credential"]
    with pytest.raises(CarrierPushAuthError):
        adapter.parse_push(headers, body)


async def test_push_without_a_configured_credential_is_refused(
    settings: UpsSettings, session: aiohttp.ClientSession, clock: ManualClock, fake: FakeUps
) -> None:
    unconfigured = _adapter(settings, session, clock, webhook_credential=None)
    headers, body = _push(fake, clock)
    with pytest.raises(CarrierPushAuthError):
        unconfigured.parse_push(headers, body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"activityStatus": {"type": "I"}}).encode(),  # no tracking number
        json.dumps({"trackingNumber": "1ZA1B2C31100000011", "activityStatus": {"type": "I"}}).encode(),  # no time
        json.dumps(
            {
                "trackingNumber": "1ZA1B2C31100000011",
                "gmtActivityDate": "20251340",
                "gmtActivityTime": "101010",
                "activityStatus": {"type": "I"},
            }
        ).encode(),
        json.dumps(  # a local time whose UTC instant is past datetime's range
            {
                "trackingNumber": "1ZA1B2C31100000011",
                "localActivityDate": "99991231",
                "localActivityTime": "235959",
                "gmtOffset": "-14.00",
                "activityStatus": {"type": "I"},
            }
        ).encode(),
    ],
)
async def test_malformed_push_is_refused(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock, body: bytes) -> None:
    headers, _ = _push(fake, clock)
    with pytest.raises(CarrierPushMalformed):
        adapter.parse_push(headers, body)


async def test_an_address_outside_latin_1_reaches_ups_transliterated(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    polish = CUSTOMER.model_copy(update={"city": "Łódź", "street_lines": ("ul. Świętego Ducha 3",), "country": "PL"})
    await adapter.schedule_pickup(pickup_request("LATIN-1", clock.now().date(), address=polish))
    sent = fake.last_bodies["schedule_pickup"]["PickupCreationRequest"]["PickupAddress"]
    assert sent["City"] == "Lódz" and sent["AddressLine"] == ["ul. Swietego Ducha 3"]


# -- Track Alert subscriptions ---------------------------------------------------------------------------


async def test_a_new_shipments_numbers_are_subscribed_to_track_alert(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    booking = await adapter.create_shipment(shipment_request("TA-1", clock.now().date()))
    await adapter.subscriptions_settled()
    sent = fake.last_bodies["subscribe"]
    assert sent == {"locale": "en_US", "countryCode": "FR", "trackingNumberList": list(booking.tracking_numbers)}
    assert set(fake.subscriptions) == set(booking.tracking_numbers)
    assert all(until == clock.now() + timedelta(days=14) for until in fake.subscriptions.values())


async def test_without_a_push_credential_nothing_is_subscribed(
    settings: UpsSettings, session: aiohttp.ClientSession, fake: FakeUps, clock: ManualClock
) -> None:
    quiet = PLUGIN.factory(
        settings.model_copy(update={"webhook_credential": None}),
        CarrierContext(session=session, clock=clock, sleep=_no_sleep),
    )
    assert isinstance(quiet, UpsAdapter)
    await quiet.create_shipment(shipment_request("TA-2", clock.now().date()))
    await quiet.subscriptions_settled()
    await quiet.aclose()
    assert fake.calls["subscribe"] == 0 and fake.subscriptions == {}


async def test_a_failed_subscription_leaves_the_booking_made_and_the_numbers_polled(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject("subscribe", Fault("unavailable_html"))
    booking = await adapter.create_shipment(shipment_request("TA-3", clock.now().date()))
    await adapter.subscriptions_settled()
    assert booking.tracking_numbers and fake.subscriptions == {}
    assert "Track Alert subscription failed" in caplog.text


async def test_numbers_ups_refuses_are_reported(adapter: UpsAdapter, fake: FakeUps, clock: ManualClock) -> None:
    booking = await adapter.create_shipment(shipment_request("TA-4", clock.now().date()))
    await adapter.subscriptions_settled()
    refused = await adapter.subscribe([*booking.tracking_numbers, "1ZZZZZZZ9999999999"])
    assert refused == ["1ZZZZZZZ9999999999"]


async def test_more_than_a_hundred_numbers_go_in_several_requests(
    adapter: UpsAdapter, fake: FakeUps, clock: ManualClock
) -> None:
    numbers = [f"1ZA1B2C3{n:010d}" for n in range(150)]
    refused = await adapter.subscribe(numbers)
    assert refused == numbers  # none issued by this fake, and none left out
    assert fake.calls["subscribe"] == 2
