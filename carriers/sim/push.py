"""Signed tracking pushes of the simulated carrier: format, signing and verification.

Wire format (``POST`` body, JSON)::

    {"events": [{"tracking_number": "1Z5SIM011100000017",
                 "code": "IT",                          # a key of SIM_STATUS_CODES
                 "occurred_at": "2025-03-03T12:00:00Z",  # ISO 8601 with an offset
                 "location": "Sorting hub",              # optional
                 "description": "In transit"}]}          # optional

Headers: ``X-Sim-Timestamp`` (Unix seconds when sent) and ``X-Sim-Signature`` = ``v1=`` + hex
HMAC-SHA256 with the shared secret over ``timestamp + "." + body``. A push older than the allowed age (or
dated too far in the future) is refused, so a captured push cannot be replayed later. Event ids are the
same as ``track()`` gives for the same event, so the service deduplicates pushes against polls.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carriers.errors import CarrierPushAuthError, CarrierPushMalformed
from carriers.models import AwareDatetime, TrackingEvent
from carriers.sim.codes import SIM_STATUS_CODES
from carriers.sim.timeline import make_event

TIMESTAMP_HEADER = "X-Sim-Timestamp"
SIGNATURE_HEADER = "X-Sim-Signature"
_SCHEME = "v1="
_FUTURE_TOLERANCE_S = 30.0  # clocks of sender and receiver drift a little


class PushEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    tracking_number: str = Field(min_length=1, max_length=40)
    code: str
    occurred_at: AwareDatetime
    location: str | None = Field(default=None, max_length=100)
    description: str = Field(default="", max_length=200)


class PushBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    events: tuple[PushEvent, ...] = Field(min_length=1, max_length=500)


def _signature(secret: str, body: bytes, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return _SCHEME + mac.hexdigest()


def sign_push(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers a genuine sim push carries (for demos and tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: _signature(secret, body, str(timestamp))}


def push_body(events: list[TrackingEvent]) -> bytes:
    """The JSON body announcing ``events`` (the inverse of ``parse_push``)."""
    payload = {
        "events": [
            {
                "tracking_number": e.tracking_number,
                "code": e.raw_code,
                "occurred_at": e.occurred_at.isoformat(),
                "location": e.location,
                "description": e.raw_description,
            }
            for e in events
        ]
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def parse_push(
    headers: Mapping[str, str], body: bytes, *, secret: str, now: datetime, max_age_s: float
) -> list[TrackingEvent]:
    """Verify the signature and age, then return the events; see the module docstring for the format."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    signature = lowered.get(SIGNATURE_HEADER.lower())
    if not timestamp or not signature:
        raise CarrierPushAuthError("push without timestamp or signature", carrier="sim", operation="push")
    if not timestamp.isdigit():
        raise CarrierPushAuthError("push timestamp is not Unix seconds", carrier="sim", operation="push")
    if not hmac.compare_digest(signature.encode(), _signature(secret, body, timestamp).encode()):
        raise CarrierPushAuthError("push signature does not match", carrier="sim", operation="push")
    age = now.timestamp() - int(timestamp)
    if age > max_age_s or age < -_FUTURE_TOLERANCE_S:
        raise CarrierPushAuthError(f"push dated {age:.0f} s from now: refused", carrier="sim", operation="push")
    try:
        parsed = PushBody.model_validate_json(body)
    except ValidationError as exc:
        raise CarrierPushMalformed(
            f"push body is not a sim push ({exc.error_count()} problems)", carrier="sim", operation="push"
        ) from None
    unknown = sorted({e.code for e in parsed.events} - SIM_STATUS_CODES.keys())
    if unknown:
        raise CarrierPushMalformed(f"unknown event codes: {', '.join(unknown)}", carrier="sim", operation="push")
    return [make_event(e.tracking_number, e.code, e.occurred_at, e.location, e.description) for e in parsed.events]
