"""What a label says: the frozen, validated input of `render_label`.

The service builds a `LabelDescription` from a case, a leg and a carrier booking; this package turns it
into PDF. Lengths are capped by the constants in `labels.limits`, so every valid description fits the
layout. This module validates and holds data; it must not render, read files or know about the service.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from labels import limits
from labels.catalogue import ITEM_KINDS, SUPPORTED_LANGUAGES
from labels.repertoire import printable_form, unprintable

Direction = Literal["to_repair_centre", "to_customer"]
CarrierLabelContentType = Literal["application/pdf", "image/png", "image/gif"]


def _text(max_length: int, *, min_length: int = 1) -> object:
    # One-line printable text: control characters would break both the layout and carriers' systems.
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=r"^[^\x00-\x1f\x7f]*$"
    )


def _printed(value: str) -> str:
    # Composed, and only characters printed with real glyphs: never an empty box or a replacement character.
    value = printable_form(value)
    reason = unprintable(value)
    if reason is not None:
        raise ValueError(reason)
    return value


PRINTED = AfterValidator(_printed)

Name = Annotated[str, _text(limits.NAME_MAX), PRINTED]
Company = Annotated[str, _text(limits.COMPANY_MAX), PRINTED]
StreetLine = Annotated[str, _text(limits.STREET_LINE_MAX), PRINTED]
PostalCode = Annotated[str, _text(limits.POSTAL_CODE_MAX), PRINTED]
City = Annotated[str, _text(limits.CITY_MAX), PRINTED]
Phone = Annotated[str, _text(limits.PHONE_MAX, min_length=3), PRINTED]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


def _known_item_kind(value: str) -> str:
    if value not in ITEM_KINDS:
        raise ValueError(f"no catalogue name for the item kind {value!r}")
    return value


def _catalogue_language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise ValueError(f"no message catalogue for {value!r}")
    return value


ItemKindName = Annotated[str, AfterValidator(_known_item_kind)]
CatalogueLanguage = Annotated[str, AfterValidator(_catalogue_language)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelAddress(_Frozen):
    """A postal address with a contact, as printed in the sender and recipient blocks."""

    name: Name
    company: Company | None = None
    street_lines: tuple[StreetLine, ...] = Field(min_length=limits.STREET_LINES_MIN, max_length=limits.STREET_LINES_MAX)
    postal_code: PostalCode
    city: City
    country: CountryCode
    phone: Phone


class PickupInfo(_Frozen):
    """A courier pickup window in the pickup site's local time."""

    date: date
    ready_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    close_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    time_zone: str

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _time_zone_names():
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @model_validator(mode="after")
    def _window_is_forward(self) -> PickupInfo:
        if self.close_time <= self.ready_time:
            raise ValueError("close_time must be after ready_time")
        return self


class PackedItem(_Frozen):
    """Something that travels with the device: its kind (named by the catalogue), a note, how many."""

    kind: ItemKindName
    note: Annotated[str, _text(limits.ITEM_MAX), PRINTED] | None = None
    quantity: int = Field(default=1, ge=1, le=limits.ITEM_QUANTITY_MAX)


class SupportHours(_Frozen):
    """When the support line answers: ISO weekdays (1 = Monday) and local opening times."""

    first_day: int = Field(ge=1, le=7)
    last_day: int = Field(ge=1, le=7)
    opens: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    closes: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class DeviceInfo(_Frozen):
    """The device the documents are about, as the packing and dispatch slips name it."""

    model: Annotated[str, _text(limits.DEVICE_MODEL_MAX), PRINTED]
    serial_number: Annotated[str, _text(limits.SERIAL_NUMBER_MAX), PRINTED]


class DispatchSlip(_Frozen):
    """What the repair centre sends back: the outcome, the replacement's serial, what goes in the box."""

    outcome: Literal["repaired", "replaced"]
    replacement_serial: Annotated[str, _text(limits.SERIAL_NUMBER_MAX), PRINTED] | None = None
    items: tuple[PackedItem, ...] = Field(default=(), max_length=limits.ITEMS_MAX)

    @model_validator(mode="after")
    def _serial_with_replacement(self) -> DispatchSlip:
        if (self.outcome == "replaced") != (self.replacement_serial is not None):
            raise ValueError("a replacement serial goes with a replaced device, and only with one")
        return self


class PackingInstructions(_Frozen):
    """What the instruction sheet and packing slip tell the customer.

    `drop_off` is the region's own text; `drop_off_language` says which language it is written in, so
    that a text not in the document's language is printed under a line saying so (None: not known).
    """

    pickup: PickupInfo | None = None
    drop_off: Annotated[str, _text(limits.DROP_OFF_MAX), PRINTED] | None = None
    drop_off_language: CatalogueLanguage | None = None
    ship_by: date | None = None
    defective_media_retention: bool = False
    include_self_test_results: bool = False
    items_to_include: tuple[PackedItem, ...] = Field(default=(), max_length=limits.ITEMS_MAX)
    support_hours: SupportHours | None = None
    support_phone: Phone | None = None
    case_reference: Annotated[str, _text(limits.CASE_REFERENCE_MAX), PRINTED] | None = None

    @model_validator(mode="after")
    def _pickup_or_drop_off(self) -> PackingInstructions:
        if self.pickup is not None and self.drop_off is not None:
            raise ValueError("give either a pickup window or drop-off instructions, not both")
        return self


class CarrierLabelImage(_Frozen):
    """A label issued by the carrier, shown as is (scaled to fit) instead of our own drawing."""

    # A carrier's PDF holds binary streams: in JSON (a cache key, say) its bytes travel as base64.
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    content_type: CarrierLabelContentType
    data: bytes = Field(min_length=1, max_length=limits.CARRIER_LABEL_MAX_BYTES)


class LabelDescription(_Frozen):
    """Everything printed on one parcel label and its instruction sheet."""

    language: Annotated[str, StringConstraints(min_length=2, max_length=limits.LANGUAGE_TAG_MAX)]
    direction: Direction
    carrier_name: Annotated[str, _text(limits.CARRIER_NAME_MAX), PRINTED]
    # The carrier's product name; without one the label names the service in the document's language.
    service_name: Annotated[str, _text(limits.SERVICE_NAME_MAX), PRINTED] | None = None
    sender: LabelAddress
    recipient: LabelAddress
    # Printable ASCII only: Code 128 cannot carry anything else without extended modes scanners dislike.
    tracking_number: Annotated[
        str, StringConstraints(min_length=1, max_length=limits.TRACKING_NUMBER_MAX, pattern=r"^[!-~]+$")
    ]
    routing_code: Annotated[str, _text(limits.ROUTING_CODE_MAX), PRINTED] | None = None
    weight_kg: Decimal = Field(gt=0, le=limits.WEIGHT_KG_MAX, decimal_places=3)
    piece_number: int = Field(ge=1, le=limits.PIECE_COUNT_MAX)
    piece_count: int = Field(ge=1, le=limits.PIECE_COUNT_MAX)
    ship_date: date
    case_reference: Annotated[str, _text(limits.CASE_REFERENCE_MAX), PRINTED]
    intake_payload: Annotated[str, StringConstraints(min_length=1, max_length=limits.INTAKE_PAYLOAD_MAX)]
    contains_lithium_battery: bool = False
    # Batteries packed with the device (not only installed in it): the regulated 100 × 70 mm mark is required,
    # too large for the 4×6 label, so the documents carry it as a sticker of its own.
    lithium_mark_required: bool = False
    carrier_label: CarrierLabelImage | None = None
    instructions: PackingInstructions | None = None
    device: DeviceInfo | None = None
    dispatch: DispatchSlip | None = None
    # One weight per piece: the document then holds a label per piece, "n of m" with its own weight, and
    # `weight_kg` is their sum. Empty: one label, piece `piece_number` of `piece_count`.
    piece_weights_kg: tuple[Annotated[Decimal, Field(gt=0, le=limits.WEIGHT_KG_MAX, decimal_places=3)], ...] = Field(
        default=(), max_length=limits.PIECE_COUNT_MAX
    )

    @model_validator(mode="after")
    def _piece_within_count(self) -> LabelDescription:
        if self.piece_number > self.piece_count:
            raise ValueError("piece_number cannot exceed piece_count")
        if self.lithium_mark_required and not self.contains_lithium_battery:
            raise ValueError("the lithium battery mark goes with contains_lithium_battery")
        if self.piece_weights_kg:
            if len(self.piece_weights_kg) != self.piece_count or self.piece_number != 1:
                raise ValueError("give one weight per piece, starting with piece 1")
            if sum(self.piece_weights_kg) != self.weight_kg:
                raise ValueError("weight_kg must be the sum of the pieces' weights")
        return self

    def pieces(self) -> tuple[LabelDescription, ...]:
        """One description per label of the document: each piece with its number and weight."""
        if not self.piece_weights_kg:
            return (self,)
        return tuple(
            self.model_copy(update={"piece_number": number, "weight_kg": weight})
            for number, weight in enumerate(self.piece_weights_kg, start=1)
        )

    @property
    def is_return(self) -> bool:
        """Inbound legs (customer to repair centre) carry the RETURN mark."""
        return self.direction == "to_repair_centre"


@cache
def _time_zone_names() -> frozenset[str]:
    # Loaded on first validation, not at import: listing zones reads the tz database.
    return frozenset(available_timezones())
