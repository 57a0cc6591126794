"""Neutral carrier models: what the service asks of any carrier, and what it gets back.

These models know nothing of a particular carrier's wire format (each adapter maps them in its own
``mapping`` module) and nothing of the logistics service. All instants are timezone-aware UTC; pickup
dates and times are local to the pickup site, whose IANA zone travels with them.
"""

from __future__ import annotations

import base64
import enum
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer, field_validator


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware")
    try:
        value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00, say: valid as written, past datetime's range in UTC
        raise ValueError("has no UTC equivalent within the supported range") from None
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Capability(enum.StrEnum):
    """What an adapter can do; the service checks these before it asks."""

    SCHEDULE_PICKUP = "schedule_pickup"
    CANCEL_PICKUP = "cancel_pickup"
    FIND_PICKUP = "find_pickup"
    CREATE_SHIPMENT = "create_shipment"
    RETURN_SHIPMENT = "return_shipment"  # a shipment whose label the customer prints
    VOID_SHIPMENT = "void_shipment"
    FIND_SHIPMENT = "find_shipment"
    TRACK = "track"
    PUSH_EVENTS = "push_events"  # tracking pushes verified by ``parse_push``
    RECOVER_LABEL = "recover_label"  # the carrier's label fetched again for a booking (``LabelRecovery``)


class TrackingStatus(enum.StrEnum):
    """Normalised status of one leg, ordered by stage (see ``STAGE``)."""

    LABEL_CREATED = "label_created"
    PICKUP_SCHEDULED = "pickup_scheduled"
    PICKED_UP = "picked_up"
    DROPPED_OFF = "dropped_off"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AWAITING_COLLECTION = "awaiting_collection"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class Address(_Frozen):
    """A postal address with the contact a carrier needs. Lines of 35 characters: what carriers print."""

    name: str = Field(min_length=1, max_length=35)
    company: str | None = Field(default=None, max_length=35)
    street_lines: tuple[Annotated[str, Field(min_length=1, max_length=35)], ...] = Field(min_length=1, max_length=3)
    city: str = Field(min_length=1, max_length=35)
    postal_code: str = Field(min_length=1, max_length=12)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    subdivision: str | None = Field(default=None, max_length=10, description="ISO 3166-2 suffix, e.g. 'BY'")
    phone: str = Field(min_length=4, max_length=25)
    email: str | None = Field(default=None, max_length=254)


class Parcel(_Frozen):
    weight_kg: Decimal = Field(gt=0, le=70)
    length_cm: int = Field(gt=0, le=300)
    width_cm: int = Field(gt=0, le=300)
    height_cm: int = Field(gt=0, le=300)
    description: str = Field(default="Computer for repair", max_length=35)
    contains_lithium_battery: bool = False


class PickupRequest(_Frozen):
    """A courier pickup at a site, on a local date between local ready and close times."""

    reference: str = Field(min_length=1, max_length=35, description="our stable reference, sent to the carrier")
    address: Address
    pickup_date: date
    ready_time: time
    close_time: time
    time_zone: str
    parcels: tuple[Parcel, ...] = Field(min_length=1)
    tracking_numbers: tuple[str, ...] = ()
    instructions: str | None = Field(default=None, max_length=57)


class PickupBooking(_Frozen):
    carrier: str
    reference: str
    confirmation: str = Field(description="the carrier's pickup number (UPS PRN, DHL dispatch number)")
    pickup_date: date
    ready_time: time
    close_time: time
    location_code: str | None = None


class ShipmentRequest(_Frozen):
    """A shipment from ``shipper`` to ``recipient``.

    ``is_return`` asks for a return label that the customer prints (the shipper is then the customer and the
    account holder pays). ``with_pickup`` asks the carrier to collect, where a carrier books both in one call.
    """

    reference: str = Field(min_length=1, max_length=35)
    shipper: Address
    recipient: Address
    parcels: tuple[Parcel, ...] = Field(min_length=1)
    ship_date: date
    service: str | None = Field(default=None, description="carrier service code; adapter default if absent")
    is_return: bool = False
    label_format: Literal["PDF", "PNG", "GIF"] = "PDF"
    description: str = Field(default="Computer equipment for repair", max_length=70)


class CarrierLabel(_Frozen):
    """The carrier's own label image, when the carrier supplies one.

    ``data`` holds the raw image bytes; in JSON (an outbox record, say) it travels as base64, since an image
    is not text. A string given for ``data`` is read as that base64 form.
    """

    content_type: Literal["application/pdf", "image/png", "image/gif"]
    data: bytes

    @field_validator("data", mode="before")
    @classmethod
    def _from_base64_text(cls, value: object) -> object:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else value

    @field_serializer("data", when_used="json")
    def _as_base64_text(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")


class ShipmentBooking(_Frozen):
    carrier: str
    reference: str
    shipment_id: str
    tracking_numbers: tuple[str, ...] = Field(min_length=1)
    label: CarrierLabel | None = None
    routing_code: str | None = Field(default=None, description="carrier sort or routing code for the label")
    service: str | None = None


class TrackingEvent(_Frozen):
    """One carrier scan, normalised, with the carrier's own code and text kept."""

    carrier: str
    tracking_number: str
    event_id: str = Field(description="stable identity of this event at the carrier, for deduplication")
    occurred_at: AwareDatetime
    status: TrackingStatus
    raw_code: str
    raw_description: str = ""
    location: str | None = None


class TrackingResult(_Frozen):
    tracking_number: str
    found: bool
    events: tuple[TrackingEvent, ...] = ()
