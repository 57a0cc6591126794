"""Pure DHL Express mapping: status table, wire formats, request bodies against DHL's spec, answers read back."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pydantic import ValidationError

import carriers.dhl_express
from carriers.dhl_express import PLUGIN, mapping
from carriers.dhl_express.adapter import DhlExpressAdapter
from carriers.dhl_express.statuses import CHECKPOINTS, status_for
from carriers.errors import CarrierNotSupported, CarrierRejected
from carriers.models import Address, TrackingStatus
from tests.carriers.dhl_express.builders import (
    CUSTOMER,
    REPAIR_CENTRE,
    pickup_request,
    settings_for_account,
    shipment_request,
)
from tests.fakes.dhl_server import MyDhlSpec, minimal_pdf, spec_path, waybill

PICKUP_SCHEMA = {"$ref": "#/components/schemas/supermodelIoLogisticsExpressPickupRequest"}
SHIPMENT_SCHEMA = {"$ref": "#/components/schemas/supermodelIoLogisticsExpressCreateShipmentRequest"}
TRACKING_SCHEMA = {"$ref": "#/components/schemas/supermodelIoLogisticsExpressTrackingResponse"}
S = TrackingStatus


def _wire(body: object) -> object:
    """What DHL receives: the body after a JSON round trip, numbers exact."""
    from decimal import Decimal

    return json.loads(json.dumps(body), parse_float=Decimal)


# -- the plug-in ------------------------------------------------------------------------------------------


def test_plugin_is_found_through_its_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="logistics.carriers") if e.name == "dhl_express"]
    assert entry.load() is PLUGIN
    assert carriers.dhl_express.__all__ == ["PLUGIN"]
    assert PLUGIN.capabilities == DhlExpressAdapter.capabilities


# -- status table ------------------------------------------------------------------------------------------


def _official_express_codes() -> list[str]:
    path = spec_path().with_name("dhl_express_status_1.csv")
    if not path.is_file():
        pytest.skip(f"DHL's status list is missing: expected shared/carrier-specs/{path.name}")
    rows = [line.split(";") for line in path.read_text(encoding="cp1252", errors="replace").splitlines()[1:]]
    return [row[1].strip() for row in rows if row and row[0] == "express"]


def test_every_official_express_code_is_mapped() -> None:
    codes = _official_express_codes()
    assert len(codes) == 44
    assert sorted(set(codes)) == sorted(CHECKPOINTS)
    assert all(status_for(code) is not S.UNKNOWN for code in codes)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("PU", S.PICKED_UP),
        ("SA", S.DROPPED_OFF),
        ("AF", S.IN_TRANSIT),
        ("DF", S.IN_TRANSIT),
        ("RR", S.IN_TRANSIT),
        ("SM", S.IN_TRANSIT),
        ("WC", S.OUT_FOR_DELIVERY),
        ("CC", S.AWAITING_COLLECTION),
        ("OK", S.DELIVERED),
        ("PD", S.DELIVERED),
        ("DD", S.DELIVERED),
        ("BA", S.EXCEPTION),
        ("NH", S.EXCEPTION),
        ("CD", S.EXCEPTION),
        ("RT", S.RETURNED_TO_SENDER),
        ("104", S.LABEL_CREATED),
        ("101", S.DELIVERED),
        ("103", S.EXCEPTION),
        (" ok ", S.DELIVERED),
        ("ZZ", S.UNKNOWN),
    ],
)
def test_status_mapping(code: str, status: TrackingStatus) -> None:
    assert status_for(code) is status


# -- small wire formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["R1", "CASE-2025-000123-L1", "X" * 35])
def test_message_reference_carries_our_reference_within_28_to_36(reference: str) -> None:
    value = mapping.message_reference(reference, "ab" * 32)
    assert 28 <= len(value) <= 36
    assert value.startswith(reference)


def test_message_reference_without_reference_is_the_token() -> None:
    assert mapping.message_reference(None, "f" * 64) == "f" * 36


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 1, 10), "2025-01-10T09:30:00 GMT+01:00"),
        (date(2025, 7, 1), "2025-07-01T09:30:00 GMT+02:00"),
    ],
)
def test_local_datetime_with_offset_follows_daylight_saving(day: date, expected: str) -> None:
    value = mapping.local_datetime_with_offset(day, time(9, 30), "Europe/Paris")
    assert value == expected
    assert len(value) <= 29


def test_negative_offsets() -> None:
    value = mapping.local_datetime_with_offset(date(2025, 1, 10), time(8), "America/St_Johns")
    assert value.endswith("GMT-03:30")


def test_waybill_check_digit_on_dhl_example_and_fake_numbers() -> None:
    assert mapping.is_valid_waybill("1103733901")  # from DHL's own response example
    assert not mapping.is_valid_waybill("1103733902")
    assert not mapping.is_valid_waybill("110373390")
    assert all(mapping.is_valid_waybill(waybill(serial)) for serial in range(110373390, 110373400))


# -- problems ----------------------------------------------------------------------------------------------


def test_process_failure_problem_keeps_dhl_code() -> None:
    body = {
        "instance": "/expressapi/shipments",
        "detail": "999: Process failure occurred. Process ID associated for that transaction (1234567890)",
        "title": "Internal Server Error",
        "message": "Internal Server Error",
        "code": "500",
    }
    problem = mapping.parse_problem(500, json.dumps(body).encode())
    assert problem.code == "999"
    assert problem.message.startswith("Process failure occurred")


def test_validation_problem_code_and_message() -> None:
    body = {"detail": "998: ShipTimeStamp is not well formatted.", "title": "Bad request", "status": "400"}
    problem = mapping.parse_problem(400, json.dumps(body).encode())
    assert (problem.code, problem.message) == ("998", "ShipTimeStamp is not well formatted.")


def test_schema_problem_names_the_field() -> None:
    body = {
        "detail": "#/content/packages/0/identifiers/0: extraneous key [dataIdentifier] is not permitted",
        "title": "Validation error",
        "status": "422",
        "additionalDetails": ["#/content/description: expected minLength: 1"],
    }
    problem = mapping.parse_problem(422, json.dumps(body).encode())
    assert problem.code == "422"
    assert problem.field == "#/content/packages/0/identifiers/0"
    assert "expected minLength" in problem.message


def test_html_problem_falls_back_to_the_status() -> None:
    problem = mapping.parse_problem(503, b"<html><body>Service Unavailable</body></html>")
    assert problem.code == "503"


# -- request bodies against DHL's spec ---------------------------------------------------------------------


def test_pickup_body_matches_dhl_spec(dhl_spec: MyDhlSpec) -> None:
    settings = settings_for_account(lithium_battery_service_code="HV")
    body = mapping.pickup_body(pickup_request("CASE-1-PICKUP", parcels=2), settings)
    assert dhl_spec.body_errors(PICKUP_SCHEMA, _wire(body)) == []
    assert body["plannedPickupDateAndTime"] == "2025-03-04T09:00:00 GMT+01:00"
    assert body["closeTime"] == "17:30"
    assert body["locationType"] == "residence"
    assert body["remark"] == "CASE-1-PICKUP"
    assert body["shipmentDetails"][0]["packages"][0]["weight"] == 2.35
    assert body["shipmentDetails"][0]["valueAddedServices"] == [{"serviceCode": "HV"}]


def test_shipment_body_matches_dhl_spec(dhl_spec: MyDhlSpec) -> None:
    body = mapping.shipment_body(shipment_request("CASE-1-OUT"), settings_for_account())
    assert dhl_spec.body_errors(SHIPMENT_SCHEMA, _wire(body)) == []
    assert body["productCode"] == "N"  # domestic
    assert body["customerReferences"] == [{"value": "CASE-1-OUT", "typeCode": "CU"}]
    assert body["accounts"] == [{"typeCode": "shipper", "number": "123456789"}]
    assert body["pickup"] == {"isRequested": False}
    assert body["outputImageProperties"]["imageOptions"][0]["templateName"] == "ECOM26_84_001"
    # The parcel holds a notebook's battery: lithium-ion contained in equipment, UN 3481, PI 967.
    assert body["valueAddedServices"] == [
        {"serviceCode": "HV", "dangerousGoods": [{"contentId": "967", "unCodes": ["3481"]}]}
    ]


def test_a_parcel_without_a_battery_or_a_programme_that_does_not_declare_it_sends_no_service(
    dhl_spec: MyDhlSpec,
) -> None:
    request = shipment_request("CASE-1-NOBAT")
    plain = request.model_copy(
        update={"parcels": [p.model_copy(update={"contains_lithium_battery": False}) for p in request.parcels]}
    )
    for body in (
        mapping.shipment_body(plain, settings_for_account()),
        mapping.shipment_body(request, settings_for_account(lithium_battery_service_code=None)),
    ):
        assert dhl_spec.body_errors(SHIPMENT_SCHEMA, _wire(body)) == []
        assert "valueAddedServices" not in body


@pytest.mark.parametrize(
    ("code", "content_id", "un_code"), [("HD", "966", "3481"), ("HM", "969", "3091"), ("HW", "970", "3091")]
)
def test_each_lithium_service_goes_with_its_content_id(
    dhl_spec: MyDhlSpec, code: str, content_id: str, un_code: str
) -> None:
    body = mapping.shipment_body(shipment_request("CASE-1-LI"), settings_for_account(lithium_battery_service_code=code))
    assert dhl_spec.body_errors(SHIPMENT_SCHEMA, _wire(body)) == []
    assert body["valueAddedServices"] == [
        {"serviceCode": code, "dangerousGoods": [{"contentId": content_id, "unCodes": [un_code]}]}
    ]


def test_return_shipment_is_from_the_customer_billed_to_the_payer(dhl_spec: MyDhlSpec) -> None:
    settings = settings_for_account(return_payer_account_number="987654321", return_service_code="PH")
    body = mapping.shipment_body(shipment_request("CASE-1-RET", is_return=True), settings)
    assert dhl_spec.body_errors(SHIPMENT_SCHEMA, _wire(body)) == []
    assert body["customerDetails"]["shipperDetails"]["contactInformation"]["fullName"] == CUSTOMER.name
    assert body["customerDetails"]["receiverDetails"]["contactInformation"]["companyName"] == REPAIR_CENTRE.company
    assert {"typeCode": "payer", "number": "987654321"} in body["accounts"]
    assert [service["serviceCode"] for service in body["valueAddedServices"]] == ["HV", "PH"]
    assert body["outputImageProperties"]["imageOptions"][0]["templateName"] == "ECOM26_84_A4_001"


def test_international_eu_shipment_uses_the_international_product(dhl_spec: MyDhlSpec) -> None:
    abroad = REPAIR_CENTRE.model_copy(update={"country": "DE", "postal_code": "10115", "city": "Berlin"})
    request = shipment_request("CASE-1-DE").model_copy(update={"recipient": abroad})
    body = mapping.shipment_body(request, settings_for_account())
    assert dhl_spec.body_errors(SHIPMENT_SCHEMA, _wire(body)) == []
    assert body["productCode"] == "P"


def test_dutiable_shipment_is_refused_before_calling() -> None:
    abroad = REPAIR_CENTRE.model_copy(update={"country": "CH", "postal_code": "1201", "city": "Genève"})
    request = shipment_request("CASE-1-CH").model_copy(update={"recipient": abroad})
    with pytest.raises(CarrierNotSupported):
        mapping.shipment_body(request, settings_for_account())


def test_png_labels_are_not_offered_by_dhl() -> None:
    request = shipment_request("CASE-1-PNG").model_copy(update={"label_format": "PNG"})
    with pytest.raises(CarrierNotSupported):
        mapping.shipment_body(request, settings_for_account())


def test_city_too_long_for_dhl_is_refused_not_cut() -> None:
    # The neutral model allows 35 characters today; the guard holds if that limit is ever raised.
    long_city = Address.model_construct(**{**dict(CUSTOMER), "city": "Saint-" + "x" * 40})
    request = shipment_request("CASE-1-LONG").model_copy(update={"shipper": long_city, "is_return": True})
    with pytest.raises(CarrierRejected) as caught:
        mapping.shipment_body(request, settings_for_account())
    assert caught.value.field == "shipper.city"


# -- answers -----------------------------------------------------------------------------------------------


def test_shipment_answer_gives_waybill_and_pdf_label() -> None:
    pdf = minimal_pdf("DHL 1103733901")
    answer = {
        "shipmentTrackingNumber": "1103733901",
        "packages": [{"referenceNumber": 1, "trackingNumber": "JD014600004617230770"}],
        "documents": [
            {"imageFormat": "PDF", "content": base64.b64encode(b"%PDF-waybill").decode(), "typeCode": "waybillDoc"},
            {"imageFormat": "PDF", "content": base64.b64encode(pdf).decode(), "typeCode": "label"},
        ],
        "shipmentDetails": [{"dhlRoutingCode": "FR69003+48000000"}],
    }
    booking = mapping.shipment_booking(shipment_request("CASE-2"), answer, "N")
    assert booking.shipment_id == "1103733901"
    assert booking.tracking_numbers == ("1103733901",)
    assert booking.label is not None
    assert booking.label.content_type == "application/pdf"
    assert booking.label.data == pdf
    assert booking.routing_code == "FR69003+48000000"


def test_shipment_answer_without_waybill_is_unreadable() -> None:
    with pytest.raises(ValueError, match="waybill"):
        mapping.shipment_booking(shipment_request("CASE-2"), {"documents": []}, "N")


def _tracking_answer() -> dict[str, object]:
    def event(day: str, at: str, code: str, offset: str | None = "+09:00") -> dict[str, object]:
        raw: dict[str, object] = {
            "date": day,
            "time": at,
            "typeCode": code,
            "description": f"scan {code}",
            "serviceArea": [{"code": "SYD", "description": "SYDNEY-AU"}],
        }
        if offset:
            raw["GMTOffset"] = offset
        return raw

    return {
        "shipments": [
            {
                "shipmentTrackingNumber": "1103733901",
                "status": "Success",
                "events": [
                    event("2023-08-09", "13:56:21", "PU"),
                    event("2023-08-09", "18:47:01", "AF"),
                    event("2023-08-09", "21:49:12", "RR"),
                    event("2023-08-09", "21:49:12", "RR"),
                    event("2023-08-10", "11:59:23", "OK"),
                ],
                "numberOfPieces": 2,
                "pieces": [
                    {"number": 1, "trackingNumber": "JD014600004617230770", "events": []},
                    {"number": 2, "trackingNumber": "JD014600004617230771", "events": []},
                ],
            },
            {
                "shipmentTrackingNumber": "1103733912",
                "status": "Success",
                "events": [],
                "pieces": [
                    {"number": 1, "trackingNumber": "JD1", "events": [event("2023-08-11", "08:00:00", "SA", None)]},
                    {"number": 2, "trackingNumber": "JD2", "events": [event("2023-08-11", "08:00:00", "SA", None)]},
                ],
            },
        ]
    }


def test_tracking_answer_matches_dhl_spec(dhl_spec: MyDhlSpec) -> None:
    assert dhl_spec.body_errors(TRACKING_SCHEMA, _wire(_tracking_answer())) == []


def test_tracking_with_several_shipments_pieces_and_events() -> None:
    results = mapping.tracking_results(["1103733901", "1103733912", "0000000000"], _tracking_answer())
    assert [r.tracking_number for r in results] == ["1103733901", "1103733912", "0000000000"]
    first, second, missing = results
    assert first.found
    assert [e.raw_code for e in first.events] == ["PU", "AF", "RR", "RR", "OK"]
    assert [e.status for e in first.events] == [S.PICKED_UP, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT, S.DELIVERED]
    assert first.events[0].occurred_at == datetime(2023, 8, 9, 4, 56, 21, tzinfo=UTC)
    assert first.events[0].location == "SYDNEY-AU"
    ids = [e.event_id for e in first.events]
    assert len(set(ids)) == len(ids)  # two identical RR scans stay two events
    # Piece-level checkpoints are merged: the same scan on two pieces is one event.
    assert [e.raw_code for e in second.events] == ["SA"]
    assert second.events[0].status is S.DROPPED_OFF
    assert second.events[0].occurred_at == datetime(2023, 8, 11, 8, 0, tzinfo=UTC)
    assert not missing.found
    assert missing.events == ()


def test_tracking_event_ids_are_stable_across_polls() -> None:
    first = mapping.tracking_results(["1103733901"], _tracking_answer())[0]
    again = mapping.tracking_results(["1103733901"], _tracking_answer())[0]
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]


def test_events_are_returned_oldest_first_even_if_dhl_shuffles() -> None:
    answer = _tracking_answer()
    shipments = answer["shipments"]
    assert isinstance(shipments, list)
    shipments[0]["events"].reverse()
    events = mapping.tracking_results(["1103733901"], answer)[0].events
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)


def test_reference_lookup_picks_the_matching_newest_shipment() -> None:
    answer = {
        "shipments": [
            {
                "shipmentTrackingNumber": "1103733901",
                "shipmentTimestamp": "2025-03-03T08:00:00",
                "shipperReferences": [{"value": "CASE-3", "typeCode": "CU"}],
                "events": [],
            },
            {
                "shipmentTrackingNumber": "1103733912",
                "shipmentTimestamp": "2025-03-03T09:00:00",
                "shipperReferences": [{"value": "CASE-3", "typeCode": "CU"}],
                "events": [],
            },
            {
                "shipmentTrackingNumber": "1103733923",
                "shipmentTimestamp": "2025-03-03T10:00:00",
                "shipperReferences": [{"value": "OTHER", "typeCode": "CU"}],
                "events": [],
            },
        ]
    }
    found = mapping.found_shipment("CASE-3", answer)
    assert found is not None
    assert found.shipment_id == "1103733912"
    assert mapping.found_shipment("CASE-4", {"shipments": answer["shipments"][2:]}) is None


def test_spec_folder_is_beside_the_repository() -> None:
    repository = Path(__file__).resolve().parents[3]
    assert spec_path().parent == repository.parent / "shared" / "carrier-specs"


def test_an_event_without_a_usable_time_is_left_out_not_the_whole_answer() -> None:
    def event(day: str, at: str, offset: str) -> dict[str, object]:
        return {"typeCode": "PU", "date": day, "time": at, "GMTOffset": offset, "description": "Picked up"}

    body = {
        "shipments": [
            {
                "shipmentTrackingNumber": "1234567890",
                "events": [
                    event("2025-03-03", "10:00:00", "+01:00"),
                    event("9999-12-31", "23:59:59", "-14:00"),  # past datetime's range once in UTC
                    event("2025-13-40", "10:00:00", "+01:00"),  # no such day
                    event("2025-03-03", "11:00:00", "+99:00"),  # no such offset
                ],
            }
        ]
    }
    [result] = mapping.tracking_results(["1234567890"], body)
    assert result.found
    assert [e.occurred_at for e in result.events] == [datetime(2025, 3, 3, 9, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 3, 4, 9, 0, tzinfo=UTC), "2025-03-04T14:00:00 GMT+01:00"),  # morning: 14:00 local
        (datetime(2025, 3, 4, 15, 7, tzinfo=UTC), "2025-03-04T16:15:00 GMT+01:00"),  # afternoon: never past
        (datetime(2025, 7, 4, 13, 0, tzinfo=UTC), "2025-07-04T15:15:00 GMT+02:00"),  # summer time
        (datetime(2025, 3, 4, 22, 50, tzinfo=UTC), "2025-03-05T00:00:00 GMT+01:00"),  # late: the next day
    ],
)
def test_planned_shipping_time_is_never_in_the_past(now: datetime, expected: str) -> None:
    day = now.date()
    assert mapping.planned_shipping_time(day, settings_for_account(), now) == expected


def test_a_lithium_service_code_mydhl_does_not_pair_with_a_content_id_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="lithium_battery_service_code"):
        settings_for_account(lithium_battery_service_code="HB")
