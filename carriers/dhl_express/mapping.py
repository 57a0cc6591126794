"""Pure mapping between the neutral carrier models and the MyDHL API 3.1.1 wire format.

No I/O here: request bodies are built from the models and settings, response bodies are read back into the
models, and DHL's problem bodies into (code, message, field). The adapter module does the HTTP.

Wire facts this module encodes (MyDHL API 3.1.1):

* dates with time are ``YYYY-MM-DDTHH:MM:SS GMT+hh:mm`` in the origin's local time (at most 29 characters);
* our reference travels as the consignor reference ``customerReferences[{typeCode: "CU"}]`` on shipments,
  which is what ``GET /tracking?shipmentReference=`` searches; pickups have no reference field, so it goes in
  the free-text ``remark`` for the courier and DHL's support;
* a return shipment is an ordinary shipment from the customer to the repair centre, billed to the payer
  account, with the A4 label template a customer can print at home;
* tracking events come oldest first, with a local date and time and, when DHL sends it, a GMT offset;
* errors are problem bodies whose ``detail`` starts with DHL's business code (``998: ...``, ``999: ...``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from carriers.customs import within_the_eu
from carriers.dhl_express.settings import DhlExpressSettings
from carriers.dhl_express.statuses import description_for, status_for
from carriers.errors import CarrierNotSupported, CarrierRejected
from carriers.models import (
    Address,
    CarrierLabel,
    Parcel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)

logger = logging.getLogger(__name__)

CARRIER = "dhl_express"
#: ``GET /tracking`` takes at most 200 shipment numbers (``shipmentTrackingNumber`` ``maxItems``).
MAX_TRACK_BATCH = 200
#: The consignor reference type: DHL's default, and the one ``/tracking?shipmentReference=`` searches.
REFERENCE_TYPE = "CU"
MESSAGE_REFERENCE_MIN = 28
MESSAGE_REFERENCE_MAX = 36

# Field limits of MyDHL's postal address and contact objects.
_ADDRESS_LINE_MAX = 45
_CITY_MAX = 45
_CONTACT_MAX = 70
_INSTRUCTION_MAX = 80

_DETAIL_CODE = re.compile(r"^\s*(\d{3,5})\s*:\s*(.*)$", re.DOTALL)
_SCHEMA_FIELD = re.compile(r"^(#/[^:\s]*)\s*:")
_MILLI = Decimal("0.001")


# --------------------------------------------------------------------------------------------------------
# Small wire formats


def message_reference(reference: str | None, token: str) -> str:
    """The ``Message-Reference`` header: our reference first, padded with ``token`` to 28–36 characters.

    DHL echoes the header and logs it with the transaction, so putting our reference in front lets DHL's
    support and our logs find each other. ``token`` (hex, at least 36 characters) keeps each message unique.
    """
    prefix = f"{reference}-" if reference else ""
    value = (prefix + token)[:MESSAGE_REFERENCE_MAX]
    if len(value) < MESSAGE_REFERENCE_MIN:
        raise ValueError("token too short for a Message-Reference")
    return value


def local_datetime_with_offset(day: date, at: time, zone: str) -> str:
    """``2025-01-18T17:00:00 GMT+01:00``: a local wall time with the zone's offset on that day."""
    local = datetime.combine(day, at.replace(microsecond=0, tzinfo=None)).replace(tzinfo=ZoneInfo(zone))
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local:%Y-%m-%dT%H:%M:%S} GMT{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _hhmm(at: time) -> str:
    return f"{at:%H:%M}"


def _weight(value: Decimal) -> float:
    # MyDHL declares multipleOf 0.001 on weights: round to grams before the float conversion.
    return float(value.quantize(_MILLI, rounding=ROUND_HALF_UP))


def waybill_check_digit(serial: str) -> int:
    """DHL Express waybills are ten digits: nine serial digits and their remainder modulo 7."""
    return int(serial) % 7


def is_valid_waybill(number: str) -> bool:
    return len(number) == 10 and number.isdigit() and waybill_check_digit(number[:9]) == int(number[9])


# --------------------------------------------------------------------------------------------------------
# Parties


def _fit(value: str, limit: int, field: str, operation: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise CarrierRejected(f"{field} is empty", code="local", field=field, carrier=CARRIER, operation=operation)
    if len(text) > limit:
        # Cutting an address silently could send a courier to the wrong door: refuse before calling DHL.
        raise CarrierRejected(
            f"{field} is longer than DHL's {limit} characters",
            code="local",
            field=field,
            carrier=CARRIER,
            operation=operation,
        )
    return text


def party(address: Address, *, operation: str, field: str) -> dict[str, Any]:
    """MyDHL ``postalAddress`` and ``contactInformation`` for one party."""
    postal: dict[str, Any] = {
        "postalCode": address.postal_code,
        "cityName": _fit(address.city, _CITY_MAX, f"{field}.city", operation),
        "countryCode": address.country,
    }
    for index, line in enumerate(address.street_lines, start=1):
        postal[f"addressLine{index}"] = _fit(line, _ADDRESS_LINE_MAX, f"{field}.street_lines", operation)
    if address.subdivision and len(address.subdivision) >= 2:
        postal["provinceCode"] = address.subdivision
    contact: dict[str, Any] = {
        "phone": address.phone,
        # DHL requires a company name; a private customer is their own "company" on DHL's paperwork.
        "companyName": address.company or address.name,
        "fullName": address.name,
    }
    if address.email:
        if len(address.email) > _CONTACT_MAX:
            raise CarrierRejected(
                "e-mail longer than DHL's 70 characters",
                code="local",
                field=f"{field}.email",
                carrier=CARRIER,
                operation=operation,
            )
        contact["email"] = address.email
    return {"postalAddress": postal, "contactInformation": contact}


def _package(parcel: Parcel) -> dict[str, Any]:
    return {
        "weight": _weight(parcel.weight_kg),
        "dimensions": {"length": parcel.length_cm, "width": parcel.width_cm, "height": parcel.height_cm},
    }


# Each lithium battery special service's dangerous-goods content ID (the spec's
# valueAddedServices.dangerousGoods: "HD, HM, HV or HW" with "966, 969, 967, 970 respectively") and UN
# number: lithium-ion batteries packed with or contained in equipment are UN 3481, lithium metal UN 3091.
# The spec's schema wants either unCodes or a dry-ice weight beside the content ID.
LITHIUM_DANGEROUS_GOODS = {"HD": ("966", "3481"), "HM": ("969", "3091"), "HV": ("967", "3481"), "HW": ("970", "3091")}


def _lithium_services(
    parcels: Sequence[Parcel], settings: DhlExpressSettings, *, content_id: bool
) -> list[dict[str, Any]]:
    """The lithium battery special service when a parcel holds a battery: with its content ID on a shipment
    (the spec requires one for every dangerous-goods service), its code alone on a pickup (whose services
    have no dangerous-goods part)."""
    code = settings.lithium_battery_service_code
    if code is None or not any(p.contains_lithium_battery for p in parcels):
        return []
    service: dict[str, Any] = {"serviceCode": code}
    if content_id:
        content, un_code = LITHIUM_DANGEROUS_GOODS[code]
        service["dangerousGoods"] = [{"contentId": content, "unCodes": [un_code]}]
    return [service]


# --------------------------------------------------------------------------------------------------------
# Pickups


def pickup_body(request: PickupRequest, settings: DhlExpressSettings) -> dict[str, Any]:
    """``POST /pickups`` body for a courier collection at the customer's site."""
    operation = "schedule_pickup"
    site = party(request.address, operation=operation, field="address")
    details: dict[str, Any] = {
        "productCode": settings.product_code,
        "isCustomsDeclarable": False,
        "unitOfMeasurement": "metric",
        "packages": [_package(p) for p in request.parcels],
    }
    services = _lithium_services(request.parcels, settings, content_id=False)
    if services:
        details["valueAddedServices"] = services
    body: dict[str, Any] = {
        "plannedPickupDateAndTime": local_datetime_with_offset(
            request.pickup_date, request.ready_time, request.time_zone
        ),
        "closeTime": _hhmm(request.close_time),
        "locationType": "business" if request.address.company else "residence",
        "accounts": [{"typeCode": "shipper", "number": settings.account_number}],
        "remark": request.reference,
        "customerDetails": {"shipperDetails": site, "pickupDetails": site},
        "shipmentDetails": [details],
    }
    if request.instructions:
        body["specialInstructions"] = [{"value": request.instructions[:_INSTRUCTION_MAX], "typeCode": "TBD"}]
    if request.tracking_numbers:
        # DHL ties the collection to known waybills when they are given.
        details["shipmentTrackingNumber"] = request.tracking_numbers[0]
    return body


def pickup_booking(request: PickupRequest, body: Mapping[str, Any]) -> PickupBooking:
    numbers = body.get("dispatchConfirmationNumbers")
    if not isinstance(numbers, list) or not numbers or not isinstance(numbers[0], str) or not numbers[0]:
        raise ValueError("pickup answer without a dispatch confirmation number")
    return PickupBooking(
        carrier=CARRIER,
        reference=request.reference,
        confirmation=numbers[0],
        pickup_date=request.pickup_date,
        ready_time=request.ready_time,
        close_time=request.close_time,
    )


def cancel_pickup_query(settings: DhlExpressSettings) -> dict[str, str]:
    return {"requestorName": settings.requestor_name, "reason": settings.cancel_reason}


def is_already_cancelled(detail: str) -> bool:
    """DHL's 400 on a cancel says the pickup is already cancelled or done: the outcome we wanted."""
    text = detail.lower()
    return "already cancel" in text or "already completed" in text


# --------------------------------------------------------------------------------------------------------
# Shipments


def _customs_declarable(shipper: Address, recipient: Address) -> bool:
    # Between EU member states no customs declaration; anything else would need an export declaration
    # (line items, values) that the logistics service does not hold.
    return shipper.country != recipient.country and not within_the_eu(shipper.country, recipient.country)


def planned_shipping_time(ship_date: date, settings: DhlExpressSettings, now: datetime | None) -> str:
    """``plannedShippingDateAndTime``: the ship date at the configured time of day, local, or, where that is
    already past (a self-shipment created in the afternoon of its ship date), the next quarter hour after
    ``now``: DHL refuses a planned time in the past."""
    zone = ZoneInfo(settings.shipping_time_zone)
    planned = datetime.combine(ship_date, settings.shipping_time.replace(tzinfo=None)).replace(tzinfo=zone)
    # Only a ship date of today is moved on; an earlier one is a mistake DHL should refuse (998).
    if now is not None and planned <= now and ship_date == now.astimezone(zone).date():
        local_now = now.astimezone(zone).replace(second=0, microsecond=0)
        later = local_now + timedelta(minutes=15 - local_now.minute % 15)
        if later.date() == ship_date:
            return local_datetime_with_offset(ship_date, later.time(), settings.shipping_time_zone)
        planned = later  # late in the evening: the first quarter hour of the next day
        return local_datetime_with_offset(planned.date(), planned.time(), settings.shipping_time_zone)
    return local_datetime_with_offset(ship_date, settings.shipping_time, settings.shipping_time_zone)


def shipment_body(
    request: ShipmentRequest, settings: DhlExpressSettings, now: datetime | None = None
) -> dict[str, Any]:
    """``POST /shipments`` body. A return is a shipment from the customer, paid by our payer account.
    ``now`` keeps the planned shipping time from falling in the past."""
    operation = "create_shipment"
    if request.label_format != "PDF":
        # MyDHL renders labels as PDF or thermal printer languages only.
        raise CarrierNotSupported(
            f"DHL Express labels are not available as {request.label_format}",
            carrier=CARRIER,
            operation=operation,
        )
    if _customs_declarable(request.shipper, request.recipient):
        raise CarrierNotSupported(
            "dutiable DHL shipments need an export declaration, which this service does not hold",
            carrier=CARRIER,
            operation=operation,
        )
    domestic = request.shipper.country == request.recipient.country
    accounts = [{"typeCode": "shipper", "number": settings.account_number}]
    if request.is_return and settings.return_payer_account_number:
        accounts.append({"typeCode": "payer", "number": settings.return_payer_account_number})
    services = _lithium_services(request.parcels, settings, content_id=True)
    if request.is_return and settings.return_service_code:
        services.append({"serviceCode": settings.return_service_code})
    template = settings.return_label_template if request.is_return else settings.label_template
    body: dict[str, Any] = {
        "plannedShippingDateAndTime": planned_shipping_time(request.ship_date, settings, now),
        # Collections are booked separately through POST /pickups, where a cancel is possible.
        "pickup": {"isRequested": False},
        "productCode": request.service or (settings.domestic_product_code if domestic else settings.product_code),
        "accounts": accounts,
        "outputImageProperties": {
            "encodingFormat": "pdf",
            "imageOptions": [
                {"typeCode": "label", "templateName": template, "isRequested": True},
                {"typeCode": "waybillDoc", "isRequested": False},
            ],
        },
        "customerReferences": [{"value": request.reference, "typeCode": REFERENCE_TYPE}],
        "customerDetails": {
            "shipperDetails": party(request.shipper, operation=operation, field="shipper"),
            "receiverDetails": party(request.recipient, operation=operation, field="recipient"),
        },
        "content": {
            "packages": [_package(p) for p in request.parcels],
            "isCustomsDeclarable": False,
            "description": " ".join(request.description.split()),
            "incoterm": "DAP",
            "unitOfMeasurement": "metric",
        },
    }
    if services:
        body["valueAddedServices"] = services
    return body


def _label(documents: Any) -> CarrierLabel | None:
    if not isinstance(documents, list):
        return None
    for document in documents:
        if not isinstance(document, Mapping) or document.get("typeCode") != "label":
            continue
        if str(document.get("imageFormat", "")).upper() != "PDF":
            continue
        try:
            data = base64.b64decode(str(document.get("content", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("label document is not valid base64") from exc
        return CarrierLabel(content_type="application/pdf", data=data)
    return None


def shipment_booking(request: ShipmentRequest, body: Mapping[str, Any], product: str) -> ShipmentBooking:
    waybill = body.get("shipmentTrackingNumber")
    if not isinstance(waybill, str) or not waybill:
        raise ValueError("shipment answer without a waybill number")
    routing: str | None = None
    details = body.get("shipmentDetails")
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        code = details[0].get("dhlRoutingCode")
        routing = code if isinstance(code, str) and code else None
    return ShipmentBooking(
        carrier=CARRIER,
        reference=request.reference,
        shipment_id=waybill,
        tracking_numbers=(waybill,),
        label=_label(body.get("documents")),
        routing_code=routing,
        service=product,
    )


def image_query(settings: DhlExpressSettings, month: date) -> list[tuple[str, str]]:
    """``GET /shipments/{number}/get-image``: the waybill document DHL keeps for a shipment, as PDF.

    MyDHL has no call that issues a shipment's label again; its image retrieval gives the waybill document
    archived with the shipment, which carries the waybill in Code 39 as the label does."""
    return [
        ("shipperAccountNumber", settings.account_number),
        ("typeCode", "waybill"),
        ("pickupYearAndMonth", month.strftime("%Y-%m")),
        ("encodingFormat", "pdf"),
        ("allInOnePDF", "true"),
        ("compressedPackage", "false"),
    ]


def retrieved_image(number: str, body: Mapping[str, Any]) -> CarrierLabel | None:
    """The PDF waybill document of ``number`` in a get-image answer; None if DHL returned none."""
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise ValueError("get-image answer without documents")
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        if document.get("shipmentTrackingNumber") not in (None, number):
            continue
        if str(document.get("encodingFormat", "")).upper() != "PDF":
            continue
        try:
            data = base64.b64decode(str(document.get("content", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("document image is not valid base64") from exc
        if data:
            return CarrierLabel(content_type="application/pdf", data=data)
    return None


def reference_search_query(reference: str, settings: DhlExpressSettings, today: date) -> list[tuple[str, str]]:
    """``GET /tracking`` by our consignor reference, over the window a booking of ours can fall in."""
    return [
        ("shipmentReference", reference),
        ("shipmentReferenceType", REFERENCE_TYPE),
        ("shipperAccountNumber", settings.account_number),
        ("dateRangeFrom", (today - timedelta(days=settings.reference_search_days)).isoformat()),
        # Shipments may be planned up to ten days ahead.
        ("dateRangeTo", (today + timedelta(days=10)).isoformat()),
        ("trackingView", "shipment-details-only"),
        ("levelOfDetail", "shipment"),
    ]


def found_shipment(reference: str, body: Mapping[str, Any]) -> ShipmentBooking | None:
    """The shipment DHL found by our reference, or ``None``. The newest one wins if there are several."""
    candidates: list[tuple[str, str]] = []
    for shipment in _shipments(body):
        refs = shipment.get("shipperReferences")
        number = shipment.get("shipmentTrackingNumber")
        if not isinstance(number, str) or not number:
            continue
        # DHL searches by the reference; the check here guards against a looser match on DHL's side.
        if (
            isinstance(refs, list)
            and refs
            and not any(isinstance(r, Mapping) and r.get("value") == reference for r in refs)
        ):
            continue
        candidates.append((str(shipment.get("shipmentTimestamp", "")), number))
    if not candidates:
        return None
    _, number = max(candidates)
    return ShipmentBooking(carrier=CARRIER, reference=reference, shipment_id=number, tracking_numbers=(number,))


# --------------------------------------------------------------------------------------------------------
# Tracking


def tracking_query(numbers: Sequence[str]) -> list[tuple[str, str]]:
    query = [("shipmentTrackingNumber", n) for n in numbers]
    query += [("trackingView", "all-checkpoints"), ("levelOfDetail", "all")]
    return query


def _shipments(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    shipments = body.get("shipments")
    if not isinstance(shipments, list):
        raise ValueError("tracking answer without a shipments list")
    return [s for s in shipments if isinstance(s, Mapping)]


def event_instant(day: str, at: str, offset: str | None, zone: str = "UTC") -> datetime:
    """An aware instant from DHL's local date, time and GMT offset.

    ``GET /tracking`` gives the facility's local time without an offset (only the single-shipment call can
    be asked for one): such a time is read in ``zone``, the zone the programme's facilities are in (the
    ``tracking_time_zone`` setting), daylight saving included.
    """
    local = datetime.fromisoformat(f"{day}T{at}")
    if offset:
        sign = -1 if offset.strip().startswith("-") else 1
        hours, _, minutes = offset.strip().lstrip("+-").partition(":")
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return local.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _location(event: Mapping[str, Any]) -> str | None:
    areas = event.get("serviceArea")
    if isinstance(areas, list) and areas and isinstance(areas[0], Mapping):
        text = areas[0].get("description") or areas[0].get("code")
        return str(text) if text else None
    return None


def _events(number: str, raw_events: Sequence[Any], zone: str) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    seen: dict[str, int] = {}
    for raw in raw_events:
        if not isinstance(raw, Mapping):
            continue
        code = str(raw.get("typeCode", "")).strip()
        day, at = str(raw.get("date", "")), str(raw.get("time", ""))
        if not code or not day or not at:
            continue
        offset = raw.get("GMTOffset")
        try:
            occurred_at = event_instant(day, at, offset if isinstance(offset, str) else None, zone)
        except (ValueError, OverflowError):
            # A scan without a usable instant cannot be ordered: it is left out rather than make the whole
            # answer unreadable, and a later poll brings it again should DHL correct it.
            logger.warning("DHL event %s of %s has no usable time (%s %s %s): skipped", code, number, day, at, offset)
            continue
        # DHL gives events no id: date, time and code identify one, and a counter tells apart the rare
        # identical pair (two RR at the same second). The counter is stable because DHL only appends.
        key = f"{number}/{day}T{at}/{code}"
        seen[key] = seen.get(key, 0) + 1
        event_id = key if seen[key] == 1 else f"{key}#{seen[key]}"
        events.append(
            TrackingEvent(
                carrier=CARRIER,
                tracking_number=number,
                event_id=event_id,
                occurred_at=occurred_at,
                status=status_for(code),
                raw_code=code,
                raw_description=str(raw.get("description") or description_for(code)),
                location=_location(raw),
            )
        )
    return events


def _shipment_events(number: str, shipment: Mapping[str, Any], zone: str) -> list[TrackingEvent]:
    raw = shipment.get("events")
    events = _events(number, raw if isinstance(raw, list) else [], zone)
    if events:
        return events
    # Some views carry the checkpoints on the pieces only: merge them, each scan once.
    merged: dict[str, TrackingEvent] = {}
    pieces = shipment.get("pieces")
    for piece in pieces if isinstance(pieces, list) else []:
        if isinstance(piece, Mapping) and isinstance(piece.get("events"), list):
            for event in _events(number, piece["events"], zone):
                merged.setdefault(event.event_id, event)
    return list(merged.values())


def tracking_results(numbers: Sequence[str], body: Mapping[str, Any], zone: str = "UTC") -> list[TrackingResult]:
    """One result per asked number, in the asked order; events oldest first; times without an offset are
    read in ``zone``."""
    by_number: dict[str, list[TrackingEvent]] = {}
    for shipment in _shipments(body):
        number = shipment.get("shipmentTrackingNumber")
        if isinstance(number, str) and number:
            by_number.setdefault(number, []).extend(_shipment_events(number, shipment, zone))
    results = []
    for number in numbers:
        if number in by_number:
            events = sorted(by_number[number], key=lambda e: e.occurred_at)
            results.append(TrackingResult(tracking_number=number, found=True, events=tuple(events)))
        else:
            results.append(TrackingResult(tracking_number=number, found=False))
    return results


# --------------------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """DHL's problem body, with the business code taken out of ``detail``."""

    status: int
    code: str
    message: str
    field: str | None = None


def parse_problem(status: int, raw: bytes) -> Problem:
    """Read a MyDHL error body. Unknown bodies (HTML from a proxy, empty) keep the HTTP status as code."""
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, Mapping):
        text = raw[:200].decode("utf-8", "replace").strip()
        return Problem(status=status, code=str(status), message=text or f"HTTP {status}")
    detail = str(body.get("detail") or body.get("message") or body.get("title") or f"HTTP {status}")
    extra = body.get("additionalDetails")
    matched = _DETAIL_CODE.match(detail)
    if matched:
        return Problem(status=status, code=matched.group(1), message=matched.group(2).strip())
    field_match = _SCHEMA_FIELD.match(detail)
    if isinstance(extra, list) and extra:
        detail = "; ".join([detail, *(str(x) for x in extra)])
    return Problem(
        status=status,
        code=str(body.get("status") or body.get("code") or status),
        message=detail,
        field=field_match.group(1) if field_match else None,
    )
