"""Pure UPS mapping: status table, instants, tolerant parsing, and requests valid against UPS's schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from carriers.models import Address, Capability, Parcel, TrackingStatus
from carriers.ups import PLUGIN, mapping
from carriers.ups.settings import UpsSettings
from tests.carriers.ups.builders import CUSTOMER, REPAIR_CENTRE, pickup_request, shipment_request
from tests.fakes.ups_server import SchemaValidators

SETTINGS = UpsSettings(
    client_id="id",
    client_secret="secret",
    account_number="A1B2C3",
    shipper_number="A1B2C3",
)


@pytest.mark.parametrize(
    ("kind", "code", "description", "proof", "expected"),
    [
        (
            "M",
            "MP",
            "Shipper created a label, UPS has not received the package yet.",
            False,
            TrackingStatus.LABEL_CREATED,
        ),
        ("MV", "MV", "Shipment voided", False, TrackingStatus.CANCELLED),
        ("P", "PU", "Pickup", False, TrackingStatus.PICKED_UP),
        ("I", "OR", "Pickup Scan", False, TrackingStatus.PICKED_UP),
        ("I", "DP", "Dropped off at a UPS Access Point", False, TrackingStatus.DROPPED_OFF),
        ("I", "AR", "Arrived at Facility", False, TrackingStatus.IN_TRANSIT),
        ("U", "SD", "The delivery date has been updated", False, TrackingStatus.IN_TRANSIT),
        ("I", "OT", "Out For Delivery Today", False, TrackingStatus.OUT_FOR_DELIVERY),
        ("D", "OF", "Loaded on Delivery Vehicle", False, TrackingStatus.OUT_FOR_DELIVERY),
        ("D", "FS", "Delivered", False, TrackingStatus.DELIVERED),
        ("D", "FS", "", True, TrackingStatus.DELIVERED),
        (
            "D",
            "2Q",
            "Delivered to UPS Access Point. Ready for customer pickup",
            False,
            TrackingStatus.AWAITING_COLLECTION,
        ),
        ("X", "RD", "The address is incomplete", False, TrackingStatus.EXCEPTION),
        ("X", "RS", "Returned to sender", False, TrackingStatus.RETURNED_TO_SENDER),
        ("I", "RT", "Returning to Shipper", False, TrackingStatus.RETURNED_TO_SENDER),
        ("Z", "ZZ", "Something new", False, TrackingStatus.UNKNOWN),
    ],
)
def test_status_mapping(kind: str, code: str, description: str, proof: bool, expected: TrackingStatus) -> None:
    assert mapping.map_status(kind, code, description, proof_of_delivery=proof) is expected


def test_instants_from_gmt_fields_pad_the_hour() -> None:
    assert mapping.utc_instant("20210210", "74700", None, None, None) == datetime(2021, 2, 10, 7, 47, tzinfo=UTC)
    assert mapping.utc_instant("20210210", "07:47:00", None, None, None) == datetime(2021, 2, 10, 7, 47, tzinfo=UTC)


def test_instants_from_local_time_and_offset() -> None:
    expected = datetime(2024, 4, 23, 13, 15, 19, tzinfo=UTC)
    assert mapping.utc_instant(None, None, "20240423", "091519", "-04:00") == expected
    assert mapping.utc_instant(None, None, "20240423", "091519", "-04.00") == expected
    with pytest.raises(ValueError, match="GMT"):
        mapping.utc_instant(None, None, "20240423", "091519", None)
    with pytest.raises(ValueError, match="no UTC equivalent"):
        mapping.utc_instant(None, None, "99991231", "235959", "-14:00")


def _track_payload(activity: object) -> dict[str, object]:
    package = {"trackingNumber": "1ZCIETST0111111114", "activity": activity}
    return {"trackResponse": {"shipment": {"inquiryNumber": "1ZCIETST0111111114", "package": package}}}


def test_track_answer_tolerates_single_objects_and_sorts_events() -> None:
    newest = {
        "gmtDate": "20240423",
        "gmtTime": "131519",
        "status": {"type": "I", "code": "AR", "description": "Arrived"},
    }
    oldest = {"gmtDate": "20240422", "gmtTime": "90000", "status": {"type": "M", "code": "MP", "description": "Label"}}
    single = mapping.parse_track_response(_track_payload(newest), "1ZCIETST0111111114")
    assert single.found
    assert len(single.events) == 1
    many = mapping.parse_track_response(_track_payload([newest, oldest]), "1ZCIETST0111111114")
    assert [e.raw_code for e in many.events] == ["M/MP", "I/AR"]
    assert many.events[0].event_id != many.events[1].event_id


def test_track_warning_tw0001_is_not_found() -> None:
    payload = {
        "trackResponse": {
            "shipment": [
                {"inquiryNumber": "1Z0", "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}]}
            ]
        }
    }
    result = mapping.parse_track_response(payload, "1ZCIETST0111111114")
    assert result.found is False
    assert result.events == ()


def test_push_and_poll_give_the_same_event_id() -> None:
    push = mapping.parse_track_alert(
        {
            "trackingNumber": "1ZCIETST0111111114",
            "gmtActivityDate": "20240423",
            "gmtActivityTime": "131519",
            "activityStatus": {"type": "I", "code": "OT", "description": "Out for Delivery"},
            "actualDeliveryDate": "",
        }
    )
    activity = {"gmtDate": "20240423", "gmtTime": "131519", "status": {"type": "I", "code": "OT", "description": "x"}}
    polled = mapping.parse_track_response(_track_payload(activity), "1ZCIETST0111111114")
    assert push[0].event_id == polled.events[0].event_id
    assert push[0].status is TrackingStatus.OUT_FOR_DELIVERY


def test_weight_is_rounded_up_to_one_decimal() -> None:
    body = mapping.pickup_creation_request(pickup_request("W1", date(2025, 3, 4)), SETTINGS)
    assert body["PickupCreationRequest"]["TotalWeight"]["Weight"] == "2.4"


def test_outbound_shipper_and_reference_level() -> None:
    outbound = mapping.ship_request(shipment_request("REF-1", date(2025, 3, 3)), SETTINGS)["ShipmentRequest"]
    assert "ReturnService" not in outbound["Shipment"]
    assert outbound["Shipment"]["Shipper"]["ShipperNumber"] == "A1B2C3"
    assert outbound["Shipment"]["ReferenceNumber"] == [{"Value": "REF-1"}]
    assert outbound["Shipment"]["Shipper"]["Phone"]["Number"] == "33320000000"


def test_label_formats_other_than_images_give_no_label() -> None:
    payload = {
        "ShipmentResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
            "ShipmentResults": {
                "ShipmentIdentificationNumber": "1ZCIETST0111111114",
                "PackageResults": {
                    "TrackingNumber": "1ZCIETST0111111114",
                    "ShippingLabel": {"ImageFormat": {"Code": "ZPL"}, "GraphicImage": "XlhB"},
                },
            },
        }
    }
    booking = mapping.parse_ship_response(payload, shipment_request("Z1", date(2025, 3, 3)), SETTINGS)
    assert booking.label is None
    assert booking.tracking_numbers == ("1ZCIETST0111111114",)


US_SITE = Address(
    name="Jordan Lee",
    street_lines=("1 Main St",),
    city="Atlanta",
    postal_code="30301",
    country="US",
    subdivision="GA",
    phone="404-555-0100",
)
US_CENTRE = Address(
    name="Dock 4",
    company="Repair Centre Memphis",
    street_lines=("10 Depot Rd",),
    city="Memphis",
    postal_code="38118",
    country="US",
    subdivision="TN",
    phone="901-555-0100",
)


@pytest.mark.parametrize(("shipper", "recipient"), [(CUSTOMER, REPAIR_CENTRE), (US_SITE, US_CENTRE)])
@pytest.mark.parametrize("is_return", [False, True])
def test_built_requests_match_ups_schemas(
    ups_specs: None, shipper: Address, recipient: Address, is_return: bool
) -> None:
    validators = SchemaValidators()
    request = shipment_request("SCHEMA-1", date(2025, 3, 3), is_return=is_return).model_copy(
        update={
            "shipper": shipper,
            "recipient": recipient,
            "parcels": (Parcel(weight_kg=Decimal("40"), length_cm=20, width_cm=60, height_cm=30),) * 2,
        }
    )
    ship = mapping.ship_request(request, SETTINGS)
    assert validators.errors("shipping", "SHIPRequestWrapper", ship) == []
    domestic_us = shipper.country == "US"
    assert ("ReferenceNumber" in ship["ShipmentRequest"]["Shipment"]) is not domestic_us
    assert all(("ReferenceNumber" in p) is domestic_us for p in ship["ShipmentRequest"]["Shipment"]["Package"])
    pickup = pickup_request("SCHEMA-P", date(2025, 3, 4), address=shipper).model_copy(
        update={"parcels": request.parcels, "tracking_numbers": ("1ZCIETST0111111114",)}
    )
    body = mapping.pickup_creation_request(pickup, SETTINGS)
    assert validators.errors("pickup", "PICKUPCreationRequestWrapper", body) == []
    assert body["PickupCreationRequest"]["OverweightIndicator"] == "Y"


# -- plug-in ---------------------------------------------------------------------------------------------


def test_plugin_describes_the_adapter() -> None:
    assert PLUGIN.name == "ups"
    assert PLUGIN.settings_model is UpsSettings
    assert PLUGIN.capabilities == frozenset(Capability)


def test_settings_never_show_secrets() -> None:
    settings = UpsSettings(
        client_id=SecretStr("id-123"),
        client_secret=SecretStr("very-secret"),
        account_number="A1B2C3",
        shipper_number="A1B2C3",
        webhook_credential=SecretStr("hook-secret"),
    )
    shown = repr(settings) + str(settings.model_dump())
    assert "very-secret" not in shown
    assert "hook-secret" not in shown


def test_text_outside_latin_1_is_transliterated_for_ups_and_latin_1_is_kept() -> None:
    assert mapping.latin1("Łódź, ul. Świętego Ducha") == "Lódz, ul. Swietego Ducha"  # ó is Latin-1: kept
    assert mapping.latin1("45 rue d'Orléans, Sœur Müller") == "45 rue d'Orléans, Soeur Müller"
    assert mapping.latin1("Ελλάδα") == "Ellada"


@pytest.mark.parametrize(("regulation_set", "mode"), [("ADR", "Ground"), ("IATA", "PAX")])
def test_a_notebooks_battery_is_declared_as_lithium_ion_contained_in_equipment(
    ups_specs: None, regulation_set: str, mode: str
) -> None:
    settings = SETTINGS.model_copy(update={"lithium_battery_regulation_set": regulation_set})
    notebook = Parcel(weight_kg=Decimal("3.2"), length_cm=45, width_cm=35, height_cm=12, contains_lithium_battery=True)
    screen = Parcel(weight_kg=Decimal("6"), length_cm=60, width_cm=40, height_cm=15)
    for is_return in (False, True):
        request = shipment_request("LI-1", date(2025, 3, 3), is_return=is_return).model_copy(
            update={"parcels": (notebook, screen)}
        )
        ship = mapping.ship_request(request, settings)
        assert SchemaValidators().errors("shipping", "SHIPRequestWrapper", ship) == []
        assert ship["ShipmentRequest"]["Request"]["SubVersion"] == "1701"  # where UPS reads LR
        with_battery, without = ship["ShipmentRequest"]["Shipment"]["Package"]
        assert with_battery["PackageServiceOptions"]["HazMat"] == [
            {
                "IDNumber": "UN3481",
                "ProperShippingName": "Lithium ion batteries contained in equipment",
                "ClassDivisionNumber": "9",
                "PackagingInstructionCode": "967",
                "CommodityRegulatedLevelCode": "LR",
                "RegulationSet": regulation_set,
                "TransportationMode": mode,
            }
        ]
        assert "PackageServiceOptions" not in without


def test_no_battery_or_a_programme_that_does_not_declare_it_sends_no_hazmat() -> None:
    notebook = Parcel(weight_kg=Decimal("3.2"), length_cm=45, width_cm=35, height_cm=12, contains_lithium_battery=True)
    request = shipment_request("LI-2", date(2025, 3, 3)).model_copy(update={"parcels": (notebook,)})
    undeclared = SETTINGS.model_copy(update={"lithium_battery_regulation_set": None})
    plain = request.model_copy(update={"parcels": (notebook.model_copy(update={"contains_lithium_battery": False}),)})
    for ship in (mapping.ship_request(request, undeclared), mapping.ship_request(plain, SETTINGS)):
        assert "SubVersion" not in ship["ShipmentRequest"]["Request"]
        assert all("PackageServiceOptions" not in p for p in ship["ShipmentRequest"]["Shipment"]["Package"])
