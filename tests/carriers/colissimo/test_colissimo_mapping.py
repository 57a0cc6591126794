"""The pure Colissimo mapping: numbers, products, request bodies, multipart answers, tracking, problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from carriers.colissimo import mapping
from carriers.colissimo.schemas import LabelV2Response, SlsEnvelope, SlsMessage
from carriers.colissimo.statuses import EVENT_CODES, description_for, status_for
from carriers.errors import CarrierNotSupported, CarrierRejected
from carriers.models import TrackingStatus
from tests.carriers.colissimo.builders import (
    BELGIAN_CUSTOMER,
    CUSTOMER,
    OVERSEAS_CUSTOMER,
    offline_settings,
    pickup_request,
    shipment_request,
)
from tests.fakes.colissimo_server import envelope, message, multipart

S = TrackingStatus


# -- numbers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["CB662173705US", "EW112720413FR", "CQ000000005FR"])
def test_s10_numbers_with_a_right_check_digit_are_valid(number: str) -> None:
    assert mapping.is_valid_s10(number)
    assert mapping.is_valid_colissimo_number(number)


@pytest.mark.parametrize("number", ["CB662173704US", "EW11272041FR", "cb662173705us", "1B662173705US"])
def test_malformed_s10_numbers_are_refused(number: str) -> None:
    assert not mapping.is_valid_s10(number)


def test_s10_check_digit_special_cases() -> None:
    # 11 - (sum mod 11): 10 becomes 0 and 11 becomes 5.
    assert mapping.s10_check_digit("00000000") == 5
    with pytest.raises(ValueError, match="eight digits"):
        mapping.s10_check_digit("1234567")


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("6A15984040331", True),
        ("8R00000000001", True),
        ("7R12345678901", True),
        ("8R0000000000", False),
        ("R8123", False),
    ],
)
def test_domestic_colissimo_numbers(number: str, valid: bool) -> None:
    assert mapping.is_valid_colissimo_number(number) is valid


# -- products ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shipper", "product"),
    [(CUSTOMER, "CORE"), (OVERSEAS_CUSTOMER, "CORI"), (BELGIAN_CUSTOMER, "CORF")],
    ids=["mainland", "overseas", "abroad"],
)
def test_return_product_follows_the_customer_origin(shipper: object, product: str) -> None:
    request = shipment_request("R-1", is_return=True, shipper=shipper)  # type: ignore[arg-type]
    assert mapping.product_for(request, offline_settings()) == product


def test_overseas_by_country_code_too() -> None:
    reunion = OVERSEAS_CUSTOMER.model_copy(update={"country": "RE"})
    assert mapping.is_overseas(reunion)
    assert not mapping.is_overseas(CUSTOMER)


def test_outbound_home_delivery_to_an_overseas_department_is_marked_ftd() -> None:
    body = mapping.label_body(shipment_request("O-1", shipper=OVERSEAS_CUSTOMER), offline_settings())
    assert body["letter"]["service"]["productCode"] == "DOS"
    assert body["letter"]["parcel"]["ftd"] is True


def test_outside_the_eu_is_not_supported() -> None:
    assert mapping.label_body(shipment_request("O-2", shipper=BELGIAN_CUSTOMER), offline_settings())
    swiss = BELGIAN_CUSTOMER.model_copy(update={"country": "CH"})
    with pytest.raises(CarrierNotSupported):
        mapping.label_body(shipment_request("O-2", shipper=swiss), offline_settings())


def test_configured_products_are_used() -> None:
    settings = offline_settings(return_product="CORE", overseas_return_product="CORI", outbound_product="DOM")
    assert mapping.product_for(shipment_request("O-3"), settings) == "DOM"


# -- the label request -------------------------------------------------------------------------------------


def test_return_label_body() -> None:
    body = mapping.label_body(shipment_request("rp_1-in", is_return=True), offline_settings())
    assert body["outputFormat"] == {"x": 0, "y": 0, "outputPrintingType": "PDF_10x15_300dpi"}
    letter = body["letter"]
    assert letter["service"] == {
        "productCode": "CORE",
        "depositDate": "2025-03-04",
        "orderNumber": "rp_1-in",
        "commercialName": "Repair logistics",
    }
    assert letter["parcel"] == {"weight": 3.5, "instructions": "Computer for repair"}
    assert letter["sender"]["address"] == {
        "lastName": "Camille Martin",
        "line2": "12 rue des Lilas",
        "line3": "Bâtiment B",
        "zipCode": "69003",
        "city": "Lyon",
        "countryCode": "FR",
        "phoneNumber": "+33472000000",
        "email": "camille.martin@example.fr",
    }
    assert letter["addressee"]["serviceInfo"] == "Service réparations"
    assert letter["addressee"]["address"]["companyName"] == "Centre de réparation Lyon"


def test_label_sent_by_email_when_configured() -> None:
    body = mapping.label_body(shipment_request("R-2", is_return=True), offline_settings(email_label_to_customer=True))
    assert body["outputFormat"]["returnType"] == "SendPDFByMail"


def test_weights_have_two_decimals_and_at_least_ten_grams() -> None:
    assert mapping.weight_kg(Decimal("2.345")) == 2.35
    assert mapping.weight_kg(Decimal("0.001")) == 0.01


def test_a_long_address_line_is_refused_not_cut() -> None:
    long_street = CUSTOMER.model_copy(update={"city": "X" * 35, "street_lines": ("Y" * 35,)})
    mapping.label_body(shipment_request("R-3", is_return=True, shipper=long_street), offline_settings())
    with pytest.raises(CarrierRejected, match="35"):
        mapping.sls_address(CUSTOMER.model_copy(update={"company": "Z" * 35 + " more"}), operation="x", field="f")


def test_png_labels_and_several_parcels_are_not_supported() -> None:
    request = shipment_request("R-4", is_return=True)
    with pytest.raises(CarrierNotSupported):
        mapping.label_body(request.model_copy(update={"label_format": "PNG"}), offline_settings())
    with pytest.raises(CarrierNotSupported):
        mapping.label_body(request.model_copy(update={"parcels": request.parcels * 2}), offline_settings())


# -- multipart answers -------------------------------------------------------------------------------------


def test_multipart_answer_keeps_the_label_byte_for_byte() -> None:
    pdf = b"%PDF-1.4\r\n\x00\xff binary \r\n--not-a-boundary\r\n%%EOF"
    infos = envelope([message("0", "ok", "INFOS")], {"parcelNumber": "8R00000000001"})
    body, content_type = multipart(infos, {"label": pdf})
    answer = mapping.read_sls_answer(content_type, body)
    assert answer.label == pdf
    assert answer.infos.labelV2Response == LabelV2Response(parcelNumber="8R00000000001")
    booking = mapping.shipment_booking(shipment_request("R-5", is_return=True), answer, "CORE")
    assert booking.shipment_id == "8R00000000001" and booking.label is not None


def test_an_error_envelope_in_either_form() -> None:
    infos = envelope([message("30108", "Le poids du colis n'est pas valide")])
    body, content_type = multipart(infos, {})
    assert mapping.read_sls_answer(content_type, body).infos.first_error() == SlsMessage(
        id="30108", type="ERROR", messageContent="Le poids du colis n'est pas valide"
    )
    plain = mapping.parse_problem(400, "application/json", json.dumps(infos).encode())
    assert (plain.code, plain.message) == ("30108", "Le poids du colis n'est pas valide")


def test_problem_bodies_of_suivi_okapi_and_proxies() -> None:
    suivi = mapping.parse_problem(400, "application/json", b'{"returnCode":400,"returnMessage":"pas valide"}')
    assert (suivi.code, suivi.message) == ("400", "pas valide")
    okapi = mapping.parse_problem(429, "application/json", b'{"code":"TOO_MANY_REQUESTS","message":"max quota"}')
    assert okapi.code == "TOO_MANY_REQUESTS"
    html = mapping.parse_problem(503, "text/html", b"<html><h1>Service Unavailable</h1></html>")
    assert (html.code, html.message) == ("503", "Service Unavailable")


@pytest.mark.parametrize(
    ("infos", "label"),
    [
        ({}, b"%PDF"),
        ({"labelV2Response": {"parcelNumber": "bad"}}, b"%PDF"),
        ({"labelV2Response": {"parcelNumber": "8R00000000001"}}, b"^XA"),
    ],
    ids=["no-response", "bad-number", "not-a-pdf"],
)
def test_an_unreadable_label_answer_is_refused(infos: dict[str, object], label: bytes) -> None:
    answer = mapping.SlsAnswer(SlsEnvelope.model_validate(infos), label)
    with pytest.raises(ValueError, match=r"label answer|not a PDF"):
        mapping.shipment_booking(shipment_request("R-6"), answer, "DOS")


def test_a_body_sls_would_not_send_is_refused() -> None:
    with pytest.raises(ValueError, match="validation error"):
        mapping.read_sls_answer("application/json", b'{"messages": "not a list"}')
    with pytest.raises(ValueError, match="neither"):
        mapping.tracking_results(["8R00000000001"], 200, b'"just text"')


def test_not_multipart_is_refused() -> None:
    with pytest.raises(ValueError, match="multipart"):
        mapping.split_multipart("application/json", b"{}")


# -- the letterbox pickup ----------------------------------------------------------------------------------


def test_plan_pickup_body() -> None:
    body = mapping.plan_pickup_body(pickup_request("P-1", "8R00000000001"))
    assert body["parcelNumber"] == "8R00000000001"
    assert body["mailBoxPickingDate"] == "2025-03-04"
    assert body["sender"]["zipCode"] == "69003" and body["sender"]["countryCode"] == "FR"


def test_letterbox_pickup_outside_mainland_france_is_not_supported() -> None:
    request = pickup_request("P-2", "7R00000000001").model_copy(update={"address": OVERSEAS_CUSTOMER})
    with pytest.raises(CarrierNotSupported):
        mapping.plan_pickup_body(request)


# -- tracking ----------------------------------------------------------------------------------------------


def test_every_listed_code_has_a_status_and_unknown_codes_are_unknown() -> None:
    assert all(status_for(code) is entry[0] for code, entry in EVENT_CODES.items())
    assert status_for("di1") is S.DELIVERED
    assert status_for("DI2") is S.RETURNED_TO_SENDER and status_for("RE1") is S.RETURNED_TO_SENDER
    assert status_for("AG1") is S.AWAITING_COLLECTION and status_for("PB1") is S.EXCEPTION
    assert status_for("ET1") is S.IN_TRANSIT  # not out for delivery
    assert status_for("ZZ9") is S.UNKNOWN and description_for("ZZ9") == ""


def _unit(number: str, *events: tuple[str, str]) -> dict[str, object]:
    return {
        "returnCode": 200,
        "shipment": {"idShip": number, "event": [{"code": c, "label": f"label {c}", "date": d} for c, d in events]},
    }


def test_tracking_reads_newest_first_events_oldest_first_keeping_raw_codes() -> None:
    body = _unit(
        "8R00000000001",
        ("DI1", "2025-03-05T12:00:00+01:00"),
        ("XX7", "2025-03-04T15:00:00+01:00"),
        ("PC1", "2025-03-04T09:00:00+01:00"),
    )
    (result,) = mapping.tracking_results(["8R00000000001"], 200, json.dumps(body).encode())
    assert [e.raw_code for e in result.events] == ["PC1", "XX7", "DI1"]
    assert [e.status for e in result.events] == [S.DROPPED_OFF, S.UNKNOWN, S.DELIVERED]
    assert result.events[0].occurred_at == datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    assert result.events[1].raw_description == "label XX7"


@pytest.mark.parametrize("wrap", ["list", "responses"])
def test_multi_status_answers_in_both_forms(wrap: str) -> None:
    units = [
        _unit("8R00000000001", ("PC1", "2025-03-04T09:00:00+01:00")),
        {"returnCode": 104, "idShip": "8R00000000002"},
    ]
    body: object = units if wrap == "list" else {"responses": units}
    first, second = mapping.tracking_results(["8R00000000001", "8R00000000002"], 207, json.dumps(body).encode())
    assert first.found and not second.found


def test_an_event_without_offset_is_skipped_and_identical_events_stay_distinct() -> None:
    body = _unit(
        "8R00000000001",
        ("ET1", "2025-03-04T10:00:00+01:00"),
        ("ET1", "2025-03-04T10:00:00+01:00"),
        ("ET2", "2025-03-04T11:00:00"),
    )
    (result,) = mapping.tracking_results(["8R00000000001"], 200, json.dumps(body).encode())
    assert [e.event_id for e in result.events] == [
        "8R00000000001/2025-03-04T10:00:00+01:00/ET1",
        "8R00000000001/2025-03-04T10:00:00+01:00/ET1#2",
    ]


# -- settings ----------------------------------------------------------------------------------------------


def test_settings_refuse_a_label_format_the_service_cannot_show_and_a_bad_url() -> None:
    with pytest.raises(ValueError, match="PDF_10x15_300dpi"):
        offline_settings(output_printing_type="ZPL_10x15_203dpi")
    with pytest.raises(ValueError, match="http"):
        offline_settings(base_url="ws.colissimo.fr")
    assert offline_settings(base_url="https://ws.colissimo.fr/sls-ws/SlsServiceWSRest/2.0/").base_url.endswith("2.0")
    assert "k" not in repr(offline_settings().api_key)
