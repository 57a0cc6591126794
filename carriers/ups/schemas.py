"""UPS wire models: the parts of UPS's JSON answers (and Track Alert pushes) that the adapter reads.

Field names are UPS's own. Unknown fields are ignored, because UPS adds fields between versions. Repeating
elements are declared as lists, as the current API versions (v2403 and later) send them; ``OneOrMany`` also
accepts the single object that older versions send when there is only one item. Requests are not modelled
here: ``mapping`` builds them as plain dicts shaped after the official request schemas, which the tests
validate against UPS's published OpenAPI documents.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")


def _as_list(value: Any) -> Any:
    # UPS sends a single object instead of a one-item array in versions before v2403.
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


OneOrMany = Annotated[list[T], BeforeValidator(_as_list)]


def _blank_to_none(value: Any) -> Any:
    # Track Alert sends "" for fields without a value ("not every field will have a value in each message").
    return None if value == "" else value


Blank = BeforeValidator(_blank_to_none)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- errors and the common envelope -------------------------------------------------------------------------


class ErrorItem(_Wire):
    code: str = ""
    message: str = ""


class ErrorList(_Wire):
    errors: OneOrMany[ErrorItem] = Field(default_factory=list)


class ErrorResponse(_Wire):
    """``{"response": {"errors": [{"code", "message"}]}}``, shared by every UPS API and the OAuth endpoint."""

    response: ErrorList = Field(default_factory=ErrorList)


class CodeDescription(_Wire):
    Code: str = ""
    Description: str = ""


class ResponseEnvelope(_Wire):
    ResponseStatus: CodeDescription
    Alert: OneOrMany[CodeDescription] = Field(default_factory=list)


# --- OAuth ------------------------------------------------------------------------------------------------


class TokenResponse(_Wire):
    """All fields are strings in UPS's schema, ``expires_in`` included (seconds)."""

    access_token: str = Field(min_length=1)
    token_type: str = ""
    expires_in: str
    issued_at: str = ""
    status: str = ""


# --- Pickup -----------------------------------------------------------------------------------------------


class PickupCreationBody(_Wire):
    Response: ResponseEnvelope
    PRN: str = Field(min_length=1)


class PickupCreationResponseWrapper(_Wire):
    PickupCreationResponse: PickupCreationBody


class PickupCancelBody(_Wire):
    Response: ResponseEnvelope
    PickupType: str = ""
    GWNStatus: CodeDescription | None = None


class PickupCancelResponseWrapper(_Wire):
    PickupCancelResponse: PickupCancelBody


class PendingPickup(_Wire):
    PickupType: str = ""
    ServiceDate: str
    PRN: str
    PickupStatusMessage: str = ""
    BillingCode: str | None = None
    ContactName: str | None = None
    ReferenceNumber: str | None = None


class PendingStatusBody(_Wire):
    Response: ResponseEnvelope
    PendingStatus: OneOrMany[PendingPickup] = Field(default_factory=list)


class PickupPendingStatusResponseWrapper(_Wire):
    PickupPendingStatusResponse: PendingStatusBody


# --- Shipping ---------------------------------------------------------------------------------------------


class LabelImage(_Wire):
    ImageFormat: CodeDescription
    GraphicImage: str


class PackageResult(_Wire):
    TrackingNumber: str
    ShippingLabel: LabelImage | None = None


class ShipmentResultsBody(_Wire):
    ShipmentIdentificationNumber: str | None = None
    PackageResults: OneOrMany[PackageResult] = Field(default_factory=list)


class ShipmentBody(_Wire):
    Response: ResponseEnvelope
    ShipmentResults: ShipmentResultsBody


class ShipmentResponseWrapper(_Wire):
    ShipmentResponse: ShipmentBody


class RecoveredImage(_Wire):
    LabelImageFormat: CodeDescription
    GraphicImage: str


class LabelResult(_Wire):
    TrackingNumber: str | None = None
    LabelImage: RecoveredImage | None = None


class LabelRecoveryBody(_Wire):
    Response: ResponseEnvelope
    LabelResults: OneOrMany[LabelResult] = Field(default_factory=list)


class LabelRecoveryResponseWrapper(_Wire):
    LabelRecoveryResponse: LabelRecoveryBody


class VoidSummary(_Wire):
    Status: CodeDescription


class VoidShipmentBody(_Wire):
    Response: ResponseEnvelope
    SummaryResult: VoidSummary


class VoidShipmentResponseWrapper(_Wire):
    VoidShipmentResponse: VoidShipmentBody


# --- Tracking ---------------------------------------------------------------------------------------------


class TrackStatus(_Wire):
    type: str = ""
    code: str = ""
    statusCode: str = ""
    description: str = ""


class TrackAddress(_Wire):
    city: str | None = None
    stateProvince: str | None = None
    postalCode: str | None = None
    countryCode: str | None = None
    country: str | None = None


class TrackLocation(_Wire):
    address: TrackAddress | None = None
    slic: str | None = None


class Activity(_Wire):
    date: str = ""
    time: str = ""
    gmtDate: str | None = None
    gmtTime: str | None = None
    gmtOffset: Annotated[str | None, Blank] = None
    location: TrackLocation | None = None
    status: TrackStatus = Field(default_factory=TrackStatus)


class DeliveryDate(_Wire):
    type: str = ""
    date: str = ""


class TrackReferenceNumber(_Wire):
    type: str = ""
    number: str = ""


class TrackPackage(_Wire):
    trackingNumber: str = ""
    activity: OneOrMany[Activity] = Field(default_factory=list)
    deliveryDate: OneOrMany[DeliveryDate] = Field(default_factory=list)
    currentStatus: TrackStatus | None = None
    referenceNumber: OneOrMany[TrackReferenceNumber] = Field(default_factory=list)


class TrackWarning(_Wire):
    code: str = ""
    message: str = ""


class TrackShipment(_Wire):
    inquiryNumber: str = ""
    package: OneOrMany[TrackPackage] = Field(default_factory=list)
    warnings: OneOrMany[TrackWarning] = Field(default_factory=list)


class TrackBody(_Wire):
    shipment: OneOrMany[TrackShipment] = Field(default_factory=list)


class TrackApiResponse(_Wire):
    trackResponse: TrackBody


# --- Track Alert push -------------------------------------------------------------------------------------

_DATE = r"^\d{4}(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])$"
_TIME = r"^([01]?\d|2[0-3])([0-5]?\d){2}$"


class AlertActivityStatus(_Wire):
    type: str = ""
    code: str = ""
    description: str = ""


class AlertLocation(_Wire):
    city: str | None = None
    stateProvince: str | None = None
    postalCode: str | None = None
    country: str | None = None


class TrackingEventPush(_Wire):
    """The body UPS Track Alert POSTs to our webhook (``TrackingEventRequest`` in the official document)."""

    trackingNumber: str = Field(pattern=r"(^1Z[0-9A-Z]{16}$)|(^1R[0-9A-Z]{14}$)|(^1R[0-9A-Z]{26}$)")
    localActivityDate: Annotated[str | None, Blank] = Field(default=None, pattern=_DATE)
    localActivityTime: Annotated[str | None, Blank] = Field(default=None, pattern=_TIME)
    gmtActivityDate: Annotated[str | None, Blank] = Field(default=None, pattern=_DATE)
    gmtActivityTime: Annotated[str | None, Blank] = Field(default=None, pattern=_TIME)
    gmtOffset: Annotated[str | None, Blank] = Field(default=None, pattern=r"^[+-]([01]\d|2[0-3])\.[0-5]\d$")
    activityLocation: AlertLocation | None = None
    activityStatus: AlertActivityStatus
    actualDeliveryDate: Annotated[str | None, Blank] = None
    actualDeliveryTime: Annotated[str | None, Blank] = None


class SubscriptionAnswer(_Wire):
    """Track Alert's answer to a package subscription (``PackageSubscriptionSuccessResponse``)."""

    validTrackingNumbers: list[str] = Field(default_factory=list)
    invalidTrackingNumbers: list[str] = Field(default_factory=list)
