"""Pure mapping between the neutral carrier models and Colissimo's wire formats (SLS and La Poste Suivi v2).

No I/O here: request bodies are built from the models and settings, answers are read back into the models,
SLS's multipart answers are split into their parts, and tracking numbers are checked. The adapter module
does the HTTP.

Wire facts this module encodes:

* SLS ``generateLabel`` takes one parcel per call; ``depositDate`` and ``mailBoxPickingDate`` are plain dates
  (``2025-03-04``), as SLS's own descriptions say, although the published schema declares ``date-time``;
* a return label is a shipment *from* the customer (the ``sender`` block) to the repair centre (the
  ``addressee``, whose ``companyName`` SLS requires on return products): ``CORE`` from mainland France,
  ``CORI`` from the overseas departments, ``CORF`` from abroad; to a repair centre elsewhere in the EU it
  is an international home-delivery label paid by us;
* our reference travels as ``service.orderNumber`` (at most 30 characters): it is not printed, but Colissimo
  keeps it with the parcel and returns it in its tracking files and its parcel search ("réf. client"),
  which is how an operator reconciles a label whose creation timed out. SLS itself has no look-up by it.
  The references SLS prints on the label (``addresseeParcelRef``, 15 characters; ``senderParcelRef``, 17)
  are too short for ours, and the repair centre reads our own 2D intake code anyway;
* the answer is ``multipart/mixed``: a ``<jsonInfos>`` JSON part (messages, ``labelV2Response`` with the
  parcel number) and a ``<label>`` part with the label's bytes. Errors come as the same envelope, in a
  multipart or a plain JSON body, with messages of type ``ERROR``;
* the letterbox pickup (``planPickup``) confirms the collection of an announced ``CORE``/``CORF`` parcel from
  the customer's letterbox on a date; La Poste keeps one pickup per parcel number;
* Suivi v2 takes 1 to 10 ids per call, lists events newest first with an ISO-8601 offset, answers one id with
  an object, several with a list of unit answers (207), and "not yet available" as ``returnCode`` 104.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from carriers.colissimo.schemas import SlsEnvelope, SuiviError, SuiviShipment, SuiviUnit
from carriers.colissimo.settings import ColissimoSettings
from carriers.colissimo.statuses import description_for, status_for
from carriers.customs import within_the_eu
from carriers.errors import CarrierNotSupported, CarrierRejected
from carriers.http import summarize_body
from carriers.models import (
    Address,
    CarrierLabel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)

logger = logging.getLogger(__name__)

CARRIER = "colissimo"
#: Suivi v2 takes "1 to 10" ids per call.
MAX_TRACK_BATCH = 10
ORDER_NUMBER_MAX = 30
_LINE_MAX = 35
_CENTI = Decimal("0.01")
MIN_WEIGHT_KG = Decimal("0.01")

#: Overseas departments and collectivities: ISO codes, and the French postal prefixes they use.
OVERSEAS_COUNTRIES = frozenset({"GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"})
_OVERSEAS_POSTAL = re.compile(r"^9[78]\d{3}$")
#: Products that can be collected from the customer's letterbox (``planPickup``).
LETTERBOX_PRODUCTS = frozenset({"CORE", "CORF"})

# --------------------------------------------------------------------------------------------------------
# Tracking numbers

_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_DOMESTIC = re.compile(r"^\d[A-Z]\d{11}$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of eight serial digits: weights 8 6 4 2 3 5 9 7, 11 − sum mod 11 (10→0, 11→5)."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("an S10 serial is eight digits")
    value = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(value, value)


def is_valid_s10(number: str) -> bool:
    """An international (UPU S10) item number such as ``CB662173705US``, its check digit right."""
    matched = _S10.match(number)
    return matched is not None and s10_check_digit(matched.group(2)) == int(matched.group(3))


def is_valid_colissimo_number(number: str) -> bool:
    """A Colissimo parcel number: 13 characters, either domestic (``8R`` + 11 digits, ``6A…``, ``7R…``) or an
    S10 number for international products (``CQ123456785FR``)."""
    return bool(_DOMESTIC.match(number)) or is_valid_s10(number)


# --------------------------------------------------------------------------------------------------------
# Parties


def _refuse(message: str, field: str, operation: str) -> CarrierRejected:
    return CarrierRejected(message, code="local", field=field, carrier=CARRIER, operation=operation)


def _fit(value: str, field: str, operation: str, limit: int = _LINE_MAX) -> str:
    text = " ".join(value.split())
    if len(text) > limit:
        # Cutting an address silently could lose the parcel: refuse before calling La Poste.
        raise _refuse(f"{field} is longer than Colissimo's {limit} characters", field, operation)
    return text


def _phone(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    return ("+" + digits) if raw.strip().startswith("+") else digits


def is_overseas(address: Address) -> bool:
    return address.country in OVERSEAS_COUNTRIES or (
        address.country == "FR" and bool(_OVERSEAS_POSTAL.match(address.postal_code))
    )


def sls_address(address: Address, *, operation: str, field: str, company_required: bool = False) -> dict[str, Any]:
    """SLS ``address``: the street line in ``line2`` (number and street), further lines in ``line3``/``line1``."""
    lines = [_fit(line, f"{field}.street_lines", operation) for line in address.street_lines]
    out: dict[str, Any] = {
        "lastName": _fit(address.name, f"{field}.name", operation),
        "line2": lines[0],
        "zipCode": address.postal_code,
        "city": _fit(address.city, f"{field}.city", operation),
        "countryCode": address.country,
    }
    if len(lines) > 1:
        out["line3"] = lines[1]
    if len(lines) > 2:
        out["line1"] = lines[2]
    company = address.company or (address.name if company_required else None)
    if company:
        out["companyName"] = _fit(company, f"{field}.company", operation)
    phone = _phone(address.phone)
    # SLS's phoneNumber is 10 to 12 characters; anything else (an international number with spaces) goes as
    # the mobile number, which has no declared length.
    out["phoneNumber" if 10 <= len(phone) <= 12 else "mobileNumber"] = phone
    if address.email:
        if not 5 <= len(address.email) <= 80:
            raise _refuse("e-mail must be 5 to 80 characters for Colissimo", f"{field}.email", operation)
        out["email"] = address.email
    return out


# --------------------------------------------------------------------------------------------------------
# Labels


def product_for(request: ShipmentRequest, settings: ColissimoSettings) -> str:
    """The Colissimo product for a shipment.

    A return to France takes the return product of the customer's origin (mainland, overseas, abroad). A
    parcel to an address elsewhere in the European Union (a repair centre abroad, a customer abroad) travels
    as Colissimo International home delivery, with no customs declaration; anywhere else is not offered.
    """
    operation = "create_shipment"
    if request.service:
        return request.service
    destination = request.recipient
    if request.is_return and destination.country == "FR" and not is_overseas(destination):
        if is_overseas(request.shipper):
            return settings.overseas_return_product
        if request.shipper.country == "FR":
            return settings.return_product
        return settings.international_return_product
    domestic = destination.country == "FR" or is_overseas(destination)
    if domestic or within_the_eu(destination.country, request.shipper.country):
        return settings.outbound_product
    raise CarrierNotSupported(
        "Colissimo parcels are offered within France and the European Union only",
        carrier=CARRIER,
        operation=operation,
    )


def weight_kg(value: Decimal) -> float:
    """SLS weights: kilograms with at most two decimals, at least 0.01 kg (the upper limit is SLS's to check)."""
    rounded = max(value.quantize(_CENTI, rounding=ROUND_HALF_UP), MIN_WEIGHT_KG)
    return float(rounded)


def label_body(request: ShipmentRequest, settings: ColissimoSettings) -> dict[str, Any]:
    """``generateLabel`` body (SLS ``GenerateLabelRequestV31``), with our reference as ``orderNumber``."""
    operation = "create_shipment"
    if request.label_format != "PDF":
        raise CarrierNotSupported(
            f"Colissimo labels are not available as {request.label_format}", carrier=CARRIER, operation=operation
        )
    if len(request.parcels) != 1:
        raise CarrierNotSupported(
            "a Colissimo label covers one parcel; send one shipment per parcel", carrier=CARRIER, operation=operation
        )
    if len(request.reference) > ORDER_NUMBER_MAX:
        raise _refuse(f"reference is longer than Colissimo's {ORDER_NUMBER_MAX} characters", "reference", operation)
    product = product_for(request, settings)
    parcel = request.parcels[0]
    service: dict[str, Any] = {
        "productCode": product,
        "depositDate": request.ship_date.isoformat(),
        "orderNumber": request.reference,
        "commercialName": settings.commercial_name,
    }
    addressee: dict[str, Any] = {
        "address": sls_address(
            request.recipient, operation=operation, field="recipient", company_required=request.is_return
        )
    }
    parcel_block: dict[str, Any] = {"weight": weight_kg(parcel.weight_kg)}
    output: dict[str, Any] = {"x": 0, "y": 0, "outputPrintingType": settings.output_printing_type}
    if request.is_return:
        parcel_block["instructions"] = _fit(request.parcels[0].description, "parcel.description", operation)
        if settings.service_info:
            addressee["serviceInfo"] = settings.service_info
        if settings.email_label_to_customer and request.shipper.email and product in LETTERBOX_PRODUCTS:
            output["returnType"] = "SendPDFByMail"
    elif is_overseas(request.recipient):
        parcel_block["ftd"] = True  # "mandatory, true, for shipments to Overseas France"
    return {
        "outputFormat": output,
        "letter": {
            "service": service,
            "parcel": parcel_block,
            "sender": {"address": sls_address(request.shipper, operation=operation, field="shipper")},
            "addressee": addressee,
        },
    }


@dataclass(frozen=True)
class Part:
    headers: Mapping[str, str]
    data: bytes


def content_type_parameters(content_type: str) -> tuple[str, dict[str, str]]:
    """``multipart/mixed; boundary="uuid:…"`` → (``multipart/mixed``, {"boundary": "uuid:…"})."""
    kind, *params = content_type.split(";")
    found: dict[str, str] = {}
    for param in params:
        name, sep, value = param.strip().partition("=")
        if sep:
            found[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), found


def split_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """The parts of a ``multipart/*`` body by ``Content-ID`` (without the angle brackets).

    Binary parts (a PDF label) are kept byte for byte: the part ends at the CRLF before the next boundary.
    """
    kind, params = content_type_parameters(content_type)
    boundary = params.get("boundary")
    if not kind.startswith("multipart/") or not boundary:
        raise ValueError(f"not a multipart answer: {content_type!r}")
    delimiter = b"--" + boundary.encode("ascii")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise ValueError("multipart answer without parts")
    parts: dict[str, Part] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without headers")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        content_id = headers.get("content-id", "").strip().strip("<>")
        parts[content_id or f"part{len(parts) + 1}"] = Part(headers, data)
    return parts


@dataclass(frozen=True)
class SlsAnswer:
    """What SLS said: the ``jsonInfos`` envelope and, for a label, its bytes."""

    infos: SlsEnvelope
    label: bytes | None = None


def read_sls_answer(content_type: str, body: bytes) -> SlsAnswer:
    """An SLS answer in either of its forms: ``multipart/mixed`` with ``jsonInfos``, or plain JSON.

    Raises ``ValueError`` (pydantic's ``ValidationError`` is one) for a body SLS would not send."""
    kind, _ = content_type_parameters(content_type)
    if kind.startswith("multipart/"):
        parts = split_multipart(content_type, body)
        infos = parts.get("jsonInfos")
        if infos is None:
            raise ValueError("multipart answer without a jsonInfos part")
        label = parts.get("label")
        return SlsAnswer(SlsEnvelope.model_validate_json(infos.data), label.data if label is not None else None)
    return SlsAnswer(SlsEnvelope.model_validate_json(body))


#: SLS message ids that mean the credentials were refused ("Identifiant ou mot de passe incorrect").
AUTH_MESSAGE_IDS = frozenset({"30000"})


def shipment_booking(request: ShipmentRequest, answer: SlsAnswer, product: str) -> ShipmentBooking:
    response = answer.infos.labelV2Response
    if response is None:
        raise ValueError("label answer without labelV2Response")
    number = response.parcelNumber
    if number is None or not is_valid_colissimo_number(number):
        raise ValueError(f"label answer without a valid parcel number: {number!r}")
    if not answer.label:
        raise ValueError("label answer without the label part")
    if not answer.label.startswith(b"%PDF"):
        raise ValueError("the label part is not a PDF")
    return ShipmentBooking(
        carrier=CARRIER,
        reference=request.reference,
        shipment_id=number,
        tracking_numbers=(number,),
        label=CarrierLabel(content_type="application/pdf", data=answer.label),
        service=product,
    )


# --------------------------------------------------------------------------------------------------------
# The letterbox pickup


def plan_pickup_body(request: PickupRequest) -> dict[str, Any]:
    """``planPickup`` body: the announced parcel, the collection date, the letterbox's address (France only)."""
    operation = "schedule_pickup"
    numbers = [n for n in request.tracking_numbers if _DOMESTIC.match(n) or is_valid_s10(n)]
    if len(numbers) != 1:
        raise _refuse(
            "a letterbox pickup collects the one parcel of a Colissimo return label: give its parcel number",
            "tracking_numbers",
            operation,
        )
    site = request.address
    if site.country != "FR" or is_overseas(site):
        raise CarrierNotSupported(
            "the letterbox pickup is offered in mainland France only", carrier=CARRIER, operation=operation
        )
    address = sls_address(site, operation=operation, field="address")
    sender: dict[str, Any] = {
        key: address[key]
        for key in ("companyName", "lastName", "line1", "line2", "line3", "city", "zipCode", "countryCode", "email")
        if key in address
    }
    phone = _phone(site.phone)
    if len(phone) <= 15:
        sender["phoneNumber"] = phone
    return {"parcelNumber": numbers[0], "mailBoxPickingDate": request.pickup_date.isoformat(), "sender": sender}


def pickup_booking(request: PickupRequest, body: Mapping[str, Any]) -> PickupBooking:
    return PickupBooking(
        carrier=CARRIER,
        reference=request.reference,
        confirmation=str(body["parcelNumber"]),
        pickup_date=request.pickup_date,
        ready_time=request.ready_time,
        close_time=request.close_time,
    )


# --------------------------------------------------------------------------------------------------------
# Tracking (La Poste Suivi v2)


def event_instant(value: str) -> datetime:
    """An aware UTC instant from Suivi's ``2025-03-04T09:14:00+01:00``; an instant without offset is refused."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("event date without an offset")
    return parsed.astimezone(UTC)


def _unit_answers(status: int, body: bytes) -> list[SuiviUnit]:
    """One id answers with an object, several with a list (207), some gateways with ``{"responses": […]}``."""
    parsed = json.loads(body) if body.strip() else None
    if isinstance(parsed, dict) and isinstance(parsed.get("responses"), list):
        parsed = parsed["responses"]
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise ValueError(f"tracking answer ({status}) is neither an object nor a list")
    return [SuiviUnit.model_validate(unit) for unit in parsed if isinstance(unit, dict)]


def _events(number: str, shipment: SuiviShipment) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    seen: dict[str, int] = {}
    # Suivi lists events newest first: read them oldest first so a repeated key gets a stable counter.
    for item in reversed(shipment.event):
        code = item.code.strip().upper()
        when = item.date
        if not code or not when:
            continue
        try:
            occurred_at = event_instant(when)
        except (ValueError, OverflowError):
            logger.warning("La Poste event %s of %s has no usable time (%r): skipped", code, number, when)
            continue
        key = f"{number}/{when}/{code}"
        seen[key] = seen.get(key, 0) + 1
        events.append(
            TrackingEvent(
                carrier=CARRIER,
                tracking_number=number,
                event_id=key if seen[key] == 1 else f"{key}#{seen[key]}",
                occurred_at=occurred_at,
                status=status_for(code),
                raw_code=code,
                raw_description=item.label or description_for(code),
            )
        )
    return sorted(events, key=lambda e: e.occurred_at)


def tracking_results(numbers: Sequence[str], status: int, body: bytes) -> list[TrackingResult]:
    """One result per asked number, in the asked order; events oldest first, raw codes kept."""
    found: dict[str, list[TrackingEvent]] = {}
    for unit in _unit_answers(status, body):
        if not unit.found or unit.shipment is None:
            continue  # 104 not yet available, 105 unknown, 109 not recognised …
        number = unit.shipment.idShip.upper()
        if number:
            found.setdefault(number, []).extend(_events(number, unit.shipment))
    results = []
    for number in numbers:
        if number in found:
            results.append(TrackingResult(tracking_number=number, found=True, events=tuple(found[number])))
        else:
            results.append(TrackingResult(tracking_number=number, found=False))
    return results


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def parse_problem(status: int, content_type: str, raw: bytes) -> Problem:
    """An error answer of SLS (messages envelope) or Suivi (``returnCode``/``returnMessage``, Okapi's
    ``code``/``message``). Unknown bodies (HTML from a proxy, empty) keep the HTTP status as code."""
    try:
        answer = read_sls_answer(content_type, raw)
        other = SuiviError.model_validate_json(raw) if not content_type.startswith("multipart/") else SuiviError()
    except (ValueError, UnicodeDecodeError):
        return Problem(code=str(status), message=summarize_body(raw.decode("utf-8", "replace"), content_type))
    error = answer.infos.first_error()
    if error is not None:
        return Problem(code=error.id or str(status), message=error.messageContent)
    code = other.returnCode or other.code or str(status)
    return Problem(code=code, message=other.returnMessage or other.message or "")
