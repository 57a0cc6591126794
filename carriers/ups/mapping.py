"""Pure mapping between the neutral carrier models and UPS's JSON: requests out, answers and pushes in.

No I/O, no clock, no logging of payloads: every function takes what it needs as arguments, so the mapping is
tested without a server. Requests follow UPS's official request schemas (Pickup and Shipping v2409, Tracking
v1); answers are read through the wire models in ``schemas``. The status table is ``STATUS_BY_TYPE`` plus
the description rules in ``map_status``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from pydantic import ValidationError

from carriers.errors import CarrierPushMalformed
from carriers.models import (
    Address,
    CarrierLabel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
    TrackingStatus,
)
from carriers.ups import schemas
from carriers.ups.settings import UpsSettings

CARRIER = "ups"

#: Ship API ``ReturnService.Code`` for a Print Return Label: the customer prints the label we pass on.
PRINT_RETURN_LABEL = "9"

#: ``PickupStatusMessage`` code of a cancelled on-call pickup in Pending Status answers.
PICKUP_CANCELLED = "007"

#: Track answer warning for a number UPS does not know (yet).
TRACKING_NOT_FOUND = "TW0001"

# UPS activity status ``type`` → normalised status, before the description rules in ``map_status``.
# M/MV/X/I/U/D come from the Track Alert document; P (pickup) from the older Track API's type chart.
STATUS_BY_TYPE: dict[str, TrackingStatus] = {
    "M": TrackingStatus.LABEL_CREATED,  # manifest: label printed, nothing scanned yet
    "MV": TrackingStatus.CANCELLED,  # manifest void: the label was voided
    "P": TrackingStatus.PICKED_UP,
    "I": TrackingStatus.IN_TRANSIT,
    "U": TrackingStatus.IN_TRANSIT,  # updated delivery date: still moving
    "X": TrackingStatus.EXCEPTION,
    "D": TrackingStatus.OUT_FOR_DELIVERY,  # type D also covers "loaded on vehicle": delivered needs proof
    "RS": TrackingStatus.RETURNED_TO_SENDER,
}

_RETURNED = re.compile(r"return(ed|ing)? to (the )?(sender|shipper)", re.IGNORECASE)
_OUT_FOR_DELIVERY = re.compile(r"out for delivery|on (the )?vehicle for delivery", re.IGNORECASE)
_ACCESS_POINT = re.compile(r"access point|ready for (customer )?pick ?up|held for pick ?up", re.IGNORECASE)
_DELIVERED = re.compile(r"\bdelivered\b", re.IGNORECASE)
_NOT_DELIVERED = re.compile(r"not delivered|undeliverable|could not be delivered", re.IGNORECASE)
_PICKED_UP = re.compile(r"pickup scan|picked up", re.IGNORECASE)
_DROPPED_OFF = re.compile(r"drop(ped)?[- ]?off", re.IGNORECASE)


# --- small formatters ---------------------------------------------------------------------------------------


def _cut(value: str, limit: int) -> str:
    return latin1(value.strip())[:limit]


def latin1(text: str) -> str:
    """``text`` in the character set UPS's APIs take for our languages (Latin-1): characters outside it are
    transliterated (``Łódź`` → ``Lódz``, ``Ελλάδα`` → ``Ellada``), those inside are kept (``Orléans``). Our
    own documents print the original."""
    if all(ord(char) < 256 for char in text):
        return text
    from anyascii import anyascii

    return "".join(char if ord(char) < 256 else anyascii(char) for char in text)


def _digits(phone: str, limit: int) -> str:
    # The Ship API accepts only digits 0-9 in phone numbers.
    return re.sub(r"\D", "", phone)[:limit] or "0"


def _ymd(value: date) -> str:
    return value.strftime("%Y%m%d")


def _hhmm(value: time) -> str:
    return value.strftime("%H%M")


def _weight(kilograms: Decimal) -> str:
    # One decimal digit, rounded up so that the declared weight is never below the real one.
    return str(kilograms.quantize(Decimal("0.1"), rounding=ROUND_CEILING))


# --- pickups ------------------------------------------------------------------------------------------------


def pickup_creation_request(request: PickupRequest, settings: UpsSettings) -> dict[str, Any]:
    """``PickupCreationRequest`` for an on-call pickup paid by the account, with our reference attached.

    The reference travels in ``ReferenceNumber``, which Pending Status echoes: that is how ``find_pickup``
    finds the booking again after an ambiguous outcome.
    """
    address = request.address
    total = sum((parcel.weight_kg for parcel in request.parcels), Decimal(0))
    pickup_address: dict[str, Any] = {
        "CompanyName": _cut(address.company or address.name, 27),
        "ContactName": _cut(address.name, 22),
        # The Pickup API accepts one address line only.
        "AddressLine": [_cut(address.street_lines[0], 35)],
        "City": _cut(address.city, 50),
        "PostalCode": _cut(address.postal_code, 8),
        "CountryCode": address.country,
        "ResidentialIndicator": "N" if address.company else "Y",
        "Phone": {"Number": _cut(address.phone, 25)},
    }
    if address.subdivision:
        pickup_address["StateProvince"] = address.subdivision
    body: dict[str, Any] = {
        "Request": {"TransactionReference": {"CustomerContext": request.reference}},
        "RatePickupIndicator": "N",
        "Shipper": {
            "Account": {
                "AccountNumber": settings.account_number,
                "AccountCountryCode": settings.account_country,
            }
        },
        "PickupDateInfo": {
            "CloseTime": _hhmm(request.close_time),
            "ReadyTime": _hhmm(request.ready_time),
            "PickupDate": _ymd(request.pickup_date),
        },
        "PickupAddress": pickup_address,
        # The customer's site is never the address registered on our account.
        "AlternateAddressIndicator": "Y",
        "PickupPiece": [
            {
                "ServiceCode": settings.pickup_service_code,
                "Quantity": str(len(request.parcels)),
                # A device travels to a repair centre in the country of purchase (DOMAIN.md).
                "DestinationCountryCode": address.country,
                "ContainerCode": "01",
            }
        ],
        "TotalWeight": {"Weight": _weight(total), "UnitOfMeasurement": "KGS"},
        "OverweightIndicator": "Y" if any(p.weight_kg > 32 for p in request.parcels) else "N",
        "PaymentMethod": settings.pickup_payment_method,
        "ReferenceNumber": request.reference,
    }
    if request.tracking_numbers:
        body["TrackingData"] = [{"TrackingNumber": number} for number in request.tracking_numbers]
    if request.instructions:
        body["SpecialInstruction"] = _cut(request.instructions, 57)
    if address.email:
        body["Notification"] = {"ConfirmationEmailAddress": _cut(address.email, 50)}
    return {"PickupCreationRequest": body}


def parse_pickup_creation(payload: Any, request: PickupRequest) -> PickupBooking:
    answer = schemas.PickupCreationResponseWrapper.model_validate(payload).PickupCreationResponse
    return PickupBooking(
        carrier=CARRIER,
        reference=request.reference,
        confirmation=answer.PRN,
        pickup_date=request.pickup_date,
        ready_time=request.ready_time,
        close_time=request.close_time,
    )


def parse_pickup_cancel(payload: Any) -> str:
    """Return UPS's response status code ("1" = success)."""
    answer = schemas.PickupCancelResponseWrapper.model_validate(payload).PickupCancelResponse
    return answer.Response.ResponseStatus.Code


def _status_code(message: str) -> str:
    # PickupStatusMessage carries a three-digit code, sometimes followed by its text.
    match = re.match(r"\s*(\d{3})", message)
    return match.group(1) if match else ""


def pending_pickups(payload: Any) -> list[schemas.PendingPickup]:
    return schemas.PickupPendingStatusResponseWrapper.model_validate(payload).PickupPendingStatusResponse.PendingStatus


def find_pending_pickup(payload: Any, reference: str, pickup_date: date) -> PickupBooking | None:
    """The live on-call pickup carrying our reference on that date, from a Pending Status answer.

    UPS returns neither the ready nor the close time here, so the booking spans the whole day; the caller
    that still has its request knows the window it asked for.
    """
    for pending in pending_pickups(payload):
        if pending.ReferenceNumber != reference or pending.ServiceDate != _ymd(pickup_date):
            continue
        if _status_code(pending.PickupStatusMessage) == PICKUP_CANCELLED:
            continue
        return PickupBooking(
            carrier=CARRIER,
            reference=reference,
            confirmation=pending.PRN,
            pickup_date=pickup_date,
            ready_time=time(0, 0),
            close_time=time(23, 59),
        )
    return None


def pickup_is_live(payload: Any, prn: str) -> bool:
    """Whether Pending Status still lists this PRN as a pickup that will happen."""
    return any(
        prn == pending.PRN and _status_code(pending.PickupStatusMessage) != PICKUP_CANCELLED
        for pending in pending_pickups(payload)
    )


# --- shipments ----------------------------------------------------------------------------------------------


def _party(address: Address, *, name_limit: int = 35) -> dict[str, Any]:
    wire_address: dict[str, Any] = {
        "AddressLine": [_cut(line, 35) for line in address.street_lines],
        "City": _cut(address.city, 30),
        "PostalCode": _cut(address.postal_code, 9),
        "CountryCode": address.country,
    }
    if address.subdivision:
        wire_address["StateProvinceCode"] = _cut(address.subdivision, 5)
    party: dict[str, Any] = {
        "Name": _cut(address.company or address.name, name_limit),
        "AttentionName": _cut(address.name, 35),
        "Phone": {"Number": _digits(address.phone, 15)},
        "Address": wire_address,
    }
    if address.email:
        party["EMailAddress"] = _cut(address.email, 50)
    return party


def _is_domestic_us(origin: Address, destination: Address) -> bool:
    pair = {origin.country, destination.country}
    return pair <= {"US"} or pair <= {"PR"}


HAZMAT_SUBVERSION = "1701"


def _lithium_battery(regulation_set: str) -> dict[str, str]:
    """The HazMat record of a notebook's battery: lithium-ion batteries contained in equipment (UN 3481,
    class 9, packing instruction 967), shipped under Section II as UPS's lightly regulated commodity (LR).
    The transportation mode is not read under ADR, but the schema requires one: road there."""
    return {
        "IDNumber": "UN3481",
        "ProperShippingName": "Lithium ion batteries contained in equipment",
        "ClassDivisionNumber": "9",
        "PackagingInstructionCode": "967",
        "CommodityRegulatedLevelCode": "LR",
        "RegulationSet": regulation_set,
        "TransportationMode": "PAX" if regulation_set == "IATA" else "Ground",
    }


def ship_request(request: ShipmentRequest, settings: UpsSettings) -> dict[str, Any]:
    """``ShipmentRequest`` for an outbound shipment, or a Print Return Label when ``request.is_return``.

    For a return, UPS's ``Shipper`` is the account holder and the place the parcel goes back to if it
    cannot be delivered (the repair centre, our recipient); ``ShipFrom`` is the customer's site. Our
    reference goes into a reference number (shipment level, or package level between US/US and PR/PR
    where UPS accepts only that), which track-by-reference finds again.
    """
    origin, destination = request.shipper, request.recipient
    shipper = _party(destination if request.is_return else origin)
    shipper["ShipperNumber"] = settings.shipper_number
    reference = [{"Value": request.reference}]
    packages: list[dict[str, Any]] = []
    for parcel in request.parcels:
        package: dict[str, Any] = {
            "Description": _cut(parcel.description, 35),
            "Packaging": {"Code": "02", "Description": "Customer Supplied Package"},
            "Dimensions": {
                "UnitOfMeasurement": {"Code": "CM"},
                # UPS wants the longest side as the length.
                **dict(
                    zip(
                        ("Length", "Width", "Height"),
                        (
                            str(side)
                            for side in sorted((parcel.length_cm, parcel.width_cm, parcel.height_cm), reverse=True)
                        ),
                        strict=True,
                    )
                ),
            },
            "PackageWeight": {"UnitOfMeasurement": {"Code": "KGS"}, "Weight": _weight(parcel.weight_kg)},
        }
        if _is_domestic_us(origin, destination):
            package["ReferenceNumber"] = reference
        if parcel.contains_lithium_battery and settings.lithium_battery_regulation_set:
            package["PackageServiceOptions"] = {"HazMat": [_lithium_battery(settings.lithium_battery_regulation_set)]}
        packages.append(package)
    shipment: dict[str, Any] = {
        "Description": _cut(request.description, 50),
        "Shipper": shipper,
        "ShipTo": _party(destination),
        "ShipFrom": _party(origin),
        "PaymentInformation": {
            "ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": settings.shipper_number}}]
        },
        "Service": {"Code": request.service or settings.service_code},
        "ShipmentDate": _ymd(request.ship_date),
        "Package": packages,
    }
    if not _is_domestic_us(origin, destination):
        shipment["ReferenceNumber"] = reference
    if request.is_return:
        shipment["ReturnService"] = {"Code": PRINT_RETURN_LABEL, "Description": "Print Return Label"}
    declared = any("PackageServiceOptions" in package for package in packages)
    return {
        "ShipmentRequest": {
            "Request": {
                "RequestOption": "nonvalidate",
                # UPS reads CommodityRegulatedLevelCode LR from subversion 1701 on.
                **({"SubVersion": HAZMAT_SUBVERSION} if declared else {}),
                "TransactionReference": {"CustomerContext": request.reference},
            },
            "Shipment": shipment,
            # The Ship API renders images only as GIF (PNG and PDF are not offered); GIF needs a user agent.
            "LabelSpecification": {
                "LabelImageFormat": {"Code": "GIF", "Description": "GIF"},
                "HTTPUserAgent": "Mozilla/5.0",
                "LabelStockSize": {"Height": "6", "Width": "4"},
            },
        }
    }


_IMAGE_TYPES: dict[str, Literal["application/pdf", "image/png", "image/gif"]] = {
    "GIF": "image/gif",
    "PNG": "image/png",
    "PDF": "application/pdf",
}


def _label(image: schemas.LabelImage | None) -> CarrierLabel | None:
    if image is None:
        return None
    content_type = _IMAGE_TYPES.get(image.ImageFormat.Code.upper())
    if content_type is None:  # ZPL, EPL, SPL: printer languages, not images our renderer can place
        return None
    try:
        data = base64.b64decode(image.GraphicImage, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("GraphicImage is not base64") from exc
    return CarrierLabel(content_type=content_type, data=data)


def parse_ship_response(payload: Any, request: ShipmentRequest, settings: UpsSettings) -> ShipmentBooking:
    """The booking, with the first package's label image (our shipments carry one parcel per label)."""
    results = schemas.ShipmentResponseWrapper.model_validate(payload).ShipmentResponse.ShipmentResults
    numbers = tuple(package.TrackingNumber for package in results.PackageResults)
    if not numbers:
        raise ValueError("ShipmentResults without PackageResults")
    return ShipmentBooking(
        carrier=CARRIER,
        reference=request.reference,
        shipment_id=results.ShipmentIdentificationNumber or numbers[0],
        tracking_numbers=numbers,
        label=_label(results.PackageResults[0].ShippingLabel),
        service=request.service or settings.service_code,
    )


def label_recovery_request(tracking_number: str, reference: str, settings: UpsSettings) -> dict[str, Any]:
    """``LabelRecoveryRequest`` for a package's label, as the Ship API gave it (a 4x6 GIF)."""
    return {
        "LabelRecoveryRequest": {
            "Request": {"SubVersion": "1903", "TransactionReference": {"CustomerContext": reference[:512]}},
            # No LabelImageFormat: GIF is the default, and the schema declares its Code four characters long
            # (no valid value is); the stock size applies to printer formats only.
            "LabelSpecification": {"HTTPUserAgent": "Mozilla/4.5"},
            "TrackingNumber": tracking_number,
        }
    }


def parse_label_recovery(payload: Any, tracking_number: str) -> CarrierLabel | None:
    """The recovered label of ``tracking_number`` (or the first one), as image bytes."""
    results = schemas.LabelRecoveryResponseWrapper.model_validate(payload).LabelRecoveryResponse.LabelResults
    chosen = next((r for r in results if r.TrackingNumber == tracking_number), results[0] if results else None)
    if chosen is None or chosen.LabelImage is None:
        return None
    image = chosen.LabelImage
    return _label(schemas.LabelImage(ImageFormat=image.LabelImageFormat, GraphicImage=image.GraphicImage))


def parse_void_response(payload: Any) -> str:
    """Return the summary status code: "1" means voided, or already voided."""
    answer = schemas.VoidShipmentResponseWrapper.model_validate(payload).VoidShipmentResponse
    return answer.SummaryResult.Status.Code


# --- tracking -----------------------------------------------------------------------------------------------


def map_status(kind: str, code: str, description: str, *, proof_of_delivery: bool = False) -> TrackingStatus:
    """Normalise one UPS activity: ``type`` first, then the description where the type is too coarse.

    UPS's two-letter activity codes are documented outside the OpenAPI files, so they are kept as raw
    codes and not relied upon. ``proof_of_delivery`` is UPS's own delivery signal (a ``DEL`` delivery date
    in Track, an actual delivery date in Track Alert).
    """
    kind = kind.strip().upper()
    if kind == "MV":
        return TrackingStatus.CANCELLED
    if _RETURNED.search(description):
        return TrackingStatus.RETURNED_TO_SENDER
    if kind == "D":
        if _NOT_DELIVERED.search(description):
            return TrackingStatus.EXCEPTION
        if _ACCESS_POINT.search(description):
            return TrackingStatus.AWAITING_COLLECTION
        if proof_of_delivery or _DELIVERED.search(description):
            return TrackingStatus.DELIVERED
        return TrackingStatus.OUT_FOR_DELIVERY
    if kind in {"I", "U"}:
        if _OUT_FOR_DELIVERY.search(description):
            return TrackingStatus.OUT_FOR_DELIVERY
        if _ACCESS_POINT.search(description) and _DELIVERED.search(description):
            return TrackingStatus.AWAITING_COLLECTION
        if _DROPPED_OFF.search(description):
            return TrackingStatus.DROPPED_OFF
        if _PICKED_UP.search(description):
            return TrackingStatus.PICKED_UP
    return STATUS_BY_TYPE.get(kind, TrackingStatus.UNKNOWN)


def _parse_offset(raw: str) -> timezone:
    match = re.fullmatch(r"([+-])(\d{1,2})[:.]?(\d{2})", raw.strip())
    if match is None:
        raise ValueError(f"bad UTC offset {raw!r}")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _parse_clock(raw: str) -> time:
    digits = raw.replace(":", "").strip()
    # UPS drops the leading zero of early hours ("74700" is 07:47:00).
    return datetime.strptime(digits.zfill(6), "%H%M%S").time()  # noqa: DTZ007 - a wall time, zone added by caller


def _parse_day(raw: str) -> date:
    return datetime.strptime(raw.replace("-", "").strip(), "%Y%m%d").date()  # noqa: DTZ007 - a calendar date


def utc_instant(
    gmt_date: str | None,
    gmt_time: str | None,
    local_date: str | None,
    local_time: str | None,
    offset: str | None,
) -> datetime:
    """The instant of a scan: UPS's GMT date and time, else the local ones with their offset."""
    if gmt_date and gmt_time:
        return datetime.combine(_parse_day(gmt_date), _parse_clock(gmt_time), tzinfo=UTC)
    if local_date and local_time and offset:
        local = datetime.combine(_parse_day(local_date), _parse_clock(local_time), tzinfo=_parse_offset(offset))
        try:
            return local.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"scan time {local.isoformat()} has no UTC equivalent") from None
    raise ValueError("scan without a GMT instant or a local time with its offset")


def event_id(tracking_number: str, occurred_at: datetime, kind: str, code: str) -> str:
    """Identity of a scan, equal whether it came by Track Alert or by polling, for deduplication."""
    return f"{tracking_number}:{occurred_at.strftime('%Y%m%dT%H%M%SZ')}:{kind or '-'}:{code or '-'}"


def _location(*parts: str | None) -> str | None:
    text = ", ".join(part.strip() for part in parts if part and part.strip())
    return text or None


def _package_events(package: schemas.TrackPackage, tracking_number: str) -> list[TrackingEvent]:
    delivered = any(item.type.upper() == "DEL" for item in package.deliveryDate)
    events: list[TrackingEvent] = []
    # UPS lists activity newest first; only the newest delivery scan can be the proof of delivery.
    newest_delivery_seen = False
    for activity in package.activity:
        status = activity.status
        try:
            occurred_at = utc_instant(
                activity.gmtDate, activity.gmtTime, activity.date, activity.time, activity.gmtOffset
            )
        except ValueError:
            continue  # a scan without a usable instant cannot be ordered; the next poll brings it again
        is_delivery = status.type.upper() == "D" and not newest_delivery_seen
        newest_delivery_seen = newest_delivery_seen or status.type.upper() == "D"
        address = activity.location.address if activity.location else None
        events.append(
            TrackingEvent(
                carrier=CARRIER,
                tracking_number=tracking_number,
                event_id=event_id(tracking_number, occurred_at, status.type, status.code),
                occurred_at=occurred_at,
                status=map_status(
                    status.type, status.code, status.description, proof_of_delivery=delivered and is_delivery
                ),
                raw_code=f"{status.type}/{status.code}" if status.code else status.type,
                raw_description=status.description,
                location=_location(
                    address.city if address else None,
                    address.postalCode if address else None,
                    (address.countryCode or address.country) if address else None,
                ),
            )
        )
    return sorted(events, key=lambda event: (event.occurred_at, event.event_id))


def parse_track_response(payload: Any, tracking_number: str) -> TrackingResult:
    """One number's result; ``found`` is false for UPS's "Tracking Information Not Found" warning."""
    answer = schemas.TrackApiResponse.model_validate(payload).trackResponse
    events: list[TrackingEvent] = []
    found = False
    for shipment in answer.shipment:
        if not shipment.package and any(w.code == TRACKING_NOT_FOUND for w in shipment.warnings):
            continue
        for package in shipment.package:
            number = package.trackingNumber or shipment.inquiryNumber or tracking_number
            if number.upper() != tracking_number.upper():
                continue
            found = True
            events.extend(_package_events(package, tracking_number))
    events.sort(key=lambda event: (event.occurred_at, event.event_id))
    return TrackingResult(tracking_number=tracking_number, found=found, events=tuple(events))


def shipment_from_reference_track(payload: Any, reference: str) -> ShipmentBooking | None:
    """Our shipment from a track-by-reference answer, unless UPS has none or only voided ones.

    UPS does not return the label here; a booking found this way carries ``label=None`` (the label can be
    fetched again through UPS's Label Recovery API).
    """
    answer = schemas.TrackApiResponse.model_validate(payload).trackResponse
    numbers: list[str] = []
    for shipment in answer.shipment:
        for package in shipment.package:
            current = package.currentStatus.type.upper() if package.currentStatus else ""
            references = {item.number for item in package.referenceNumber}
            if current == "MV" or (references and reference not in references):
                continue
            if package.trackingNumber and package.trackingNumber not in numbers:
                numbers.append(package.trackingNumber)
    if not numbers:
        return None
    return ShipmentBooking(
        carrier=CARRIER, reference=reference, shipment_id=numbers[0], tracking_numbers=tuple(numbers)
    )


# --- Track Alert pushes -------------------------------------------------------------------------------------


def parse_track_alert(payload: Any) -> list[TrackingEvent]:
    """Events of one Track Alert message (UPS sends one event per POST); malformed bodies are refused."""
    try:
        push = schemas.TrackingEventPush.model_validate(payload)
        occurred_at = utc_instant(
            push.gmtActivityDate,
            push.gmtActivityTime,
            push.localActivityDate,
            push.localActivityTime,
            push.gmtOffset,
        )
    except (ValidationError, ValueError) as exc:
        raise CarrierPushMalformed(
            f"not a Track Alert event: {_summary(exc)}", carrier=CARRIER, operation="parse_push"
        ) from exc
    status = push.activityStatus
    if not status.type:
        raise CarrierPushMalformed("Track Alert event without a status type", carrier=CARRIER, operation="parse_push")
    location = push.activityLocation
    return [
        TrackingEvent(
            carrier=CARRIER,
            tracking_number=push.trackingNumber,
            event_id=event_id(push.trackingNumber, occurred_at, status.type, status.code),
            occurred_at=occurred_at,
            status=map_status(
                status.type, status.code, status.description, proof_of_delivery=bool(push.actualDeliveryDate)
            ),
            raw_code=f"{status.type}/{status.code}" if status.code else status.type,
            raw_description=status.description,
            location=_location(
                location.city if location else None,
                location.postalCode if location else None,
                location.country if location else None,
            ),
        )
    ]


# --- Track Alert subscriptions -----------------------------------------------------------------------------

SUBSCRIPTION_BATCH = 100  # tracking numbers per subscription request at most (VSS220 beyond)


def track_alert_subscription(tracking_numbers: Sequence[str], settings: UpsSettings) -> dict[str, Any]:
    """Body of ``POST /api/track/v2/subscription/standard/package``: UPS pushes these numbers' events to the
    URL and with the credential registered for the app (v2 has no destination in the request)."""
    return {
        "locale": settings.locale,
        "countryCode": settings.account_country,
        "trackingNumberList": list(tracking_numbers),
    }


def parse_subscription(payload: Any) -> tuple[list[str], list[str]]:
    """The numbers UPS subscribed and those it refused."""
    answer = schemas.SubscriptionAnswer.model_validate(payload)
    return list(answer.validTrackingNumbers), list(answer.invalidTrackingNumbers)


def _summary(exc: Exception) -> str:
    # Pydantic errors quote the input; keep the message short and free of payload values.
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['type']}" for error in exc.errors()
        )
    return str(exc)


# --- errors -------------------------------------------------------------------------------------------------


def json_or_none(text: str) -> Any:
    """The JSON value of a body, or None for an empty or non-JSON body (HTML error pages from proxies)."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def error_items(payload: Any) -> list[tuple[str, str]]:
    """``(code, message)`` pairs of a UPS error body; empty when the body is not UPS's error shape."""
    try:
        errors = schemas.ErrorResponse.model_validate(payload).response.errors
    except ValidationError:
        return []
    return [(error.code, error.message) for error in errors]


def first_error(payload: Any) -> tuple[str, str]:
    items = error_items(payload)
    return items[0] if items else ("", "")


def has_code(payload: Any, codes: Iterable[str]) -> bool:
    wanted = set(codes)
    return any(code in wanted for code, _ in error_items(payload))
