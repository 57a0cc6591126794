"""Settings of the simulated carrier: identity, timeline offsets, fault plan, persistence, push secret."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# Development default only: a deployment that accepts sim pushes from elsewhere must set its own.
DEVELOPMENT_PUSH_SECRET = "sim-development-push-secret"  # noqa: S105 - documented, public on purpose

SimOperation = Literal[
    "schedule_pickup",
    "cancel_pickup",
    "find_pickup",
    "create_shipment",
    "void_shipment",
    "find_shipment",
    "track",
    "*",
]


class TimelineSettings(BaseModel):
    """Seconds after the booking at which each scripted tracking event happens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label_created_s: float = Field(default=0.0, ge=0)
    handed_over_s: float = Field(default=4 * 3600, ge=0, description="picked up or dropped off")
    in_transit_s: float = Field(default=8 * 3600, ge=0)
    out_for_delivery_s: float = Field(default=20 * 3600, ge=0)
    delivered_s: float = Field(default=26 * 3600, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TimelineSettings:
        offsets = [
            self.label_created_s,
            self.handed_over_s,
            self.in_transit_s,
            self.out_for_delivery_s,
            self.delivered_s,
        ]
        if offsets != sorted(offsets):
            raise ValueError("timeline offsets must not decrease")
        return self


class FaultStep(BaseModel):
    """One scripted misbehaviour, consumed by the next matching call(s).

    kinds:
      * ``latency``: wait ``delay_s``, then answer normally;
      * ``stall``: wait ``delay_s`` (set it beyond the caller's attempt timeout), then answer normally;
      * ``http_error``: answer HTTP ``status`` with an optional ``retry_after`` header value (seconds or an
        HTTP date) and ``body``, mapped like a real adapter would (``carriers.http``);
      * ``reset``: the connection drops while the answer is read;
      * ``refused``: the connection is refused before anything is sent;
      * ``reject``: a permanent refusal with the carrier ``code`` and ``message``.

    ``after_apply`` makes the carrier apply the booking before misbehaving: the ambiguous cases (a timeout,
    5xx or reset after the pickup or shipment exists).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: SimOperation = "*"
    kind: Literal["latency", "stall", "http_error", "reset", "refused", "reject"]
    times: int = Field(default=1, ge=1, description="how many matching calls this step affects")
    after_apply: bool = False
    delay_s: float = Field(default=0.0, ge=0)
    status: int = Field(default=503, ge=400, le=599)
    retry_after: str | None = None
    body: str = ""
    code: str = "SIM-400"
    message: str = "Request refused by the simulated carrier"

    @model_validator(mode="after")
    def _consistent(self) -> FaultStep:
        if self.after_apply and self.kind in ("refused", "reject"):
            raise ValueError(f"a {self.kind} fault happens before anything is applied")
        return self


class SimSettings(BaseModel):
    """Everything the simulated carrier needs; the defaults make a well-behaved carrier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipper_number: str = Field(default="5SIM01", pattern=r"^[0-9A-Z]{6}$")
    service_code: str = Field(default="11", pattern=r"^[0-9]{2}$", description="as in 1Z numbers")
    max_track_batch: int = Field(default=25, ge=1)
    timeline: TimelineSettings = Field(default_factory=TimelineSettings)
    faults: tuple[FaultStep, ...] = ()
    state_path: Path | None = Field(default=None, description="JSON file keeping bookings across restarts")
    push_secret: SecretStr = SecretStr(DEVELOPMENT_PUSH_SECRET)
    push_max_age_s: float = Field(default=300.0, gt=0, description="older signed pushes are refused")
