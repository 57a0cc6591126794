"""What routing answers: the method, the carriers, the repair centre, pickup slots and the reasons why."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Method(enum.StrEnum):
    COURIER_PICKUP = "courier_pickup"
    SELF_SHIPMENT = "self_shipment"


class Reason(_Frozen):
    """One step of the decision: ``code`` is stable for machines, ``message`` is a sentence for people."""

    code: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    message: str


M = TypeVar("M", bound=BaseModel)


def trusted(model: type[M], **values: Any) -> M:
    """An instance built from values routing made and checked itself, every field given: no validation and
    no default handling. ``model_construct`` does the same with a loop over the fields and their defaults
    that cost a third of a decision; this is for the few small models a decision makes by the dozen."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def reason(code: str, message: str) -> Reason:
    """A reason made by routing itself. Its codes are literals checked by the tests, so validation, which
    would cost a noticeable share of a decision, is skipped."""
    return trusted(Reason, code=code, message=message)


class PickupSlot(_Frozen):
    """A courier pickup window on one local date; ``ready_at``/``close_at`` are the same bounds in UTC."""

    local_date: date
    ready_time: time
    close_time: time
    time_zone: str
    ready_at: UtcDatetime
    close_at: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.close_at <= self.ready_at:
            raise ValueError("close_at must be after ready_at")
        return self


class TurnaroundTargets(_Frozen):
    """Targets per leg in business days; a leg is at risk once it has used ``at_risk_ratio`` of its target."""

    inbound_business_days: int = Field(ge=0, le=60)
    at_centre_business_days: int = Field(ge=0, le=60)
    outbound_business_days: int = Field(ge=0, le=60)
    at_risk_ratio: float = Field(default=0.8, gt=0, le=1)


class CalendarUsed(_Frozen):
    """The calendar the site's business days are counted in, and what decided it."""

    country: str
    subdivision: str | None = Field(default=None, description="the holidays library's code; None: national")
    source: Literal["postal_code", "site", "region", "national"]


class RoutingDecision(_Frozen):
    """The routing answer. ``eligible`` False means refused: ``reasons`` says why and the rest is empty."""

    eligible: bool
    method: Method | None = None
    carrier: str | None = Field(default=None, description="carrier of the inbound leg, site to centre")
    return_carrier: str | None = Field(default=None, description="carrier of the outbound leg, centre to site")
    centre_id: str | None = None
    region_id: str | None = None
    time_zone: str | None = Field(default=None, description="the site's IANA zone")
    calendar: CalendarUsed | None = Field(default=None, description="the site's holiday calendar")
    slots: tuple[PickupSlot, ...] = ()
    drop_off: str | None = None
    drop_off_by_language: dict[str, str] = Field(
        default_factory=dict, description="the drop-off text in other languages, by two-letter code"
    )
    ship_by: date | None = Field(default=None, description="last local date for a self-shipment")
    reasons: tuple[Reason, ...] = ()
    turnaround: TurnaroundTargets | None = None

    def reason_codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)
