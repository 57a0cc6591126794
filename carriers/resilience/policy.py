"""The knobs of a resilient carrier call and the record of each attempt.

``CallPolicy`` is configuration (one per carrier, validated at start-up); ``AttemptRecord`` is what the
resilience layer reports for every single call it makes to an adapter, so the service can count attempts,
latencies and outcomes in its metrics. Neither does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CallPolicy(BaseModel):
    """Timeouts, retries, backoff, circuit breaker and concurrency limit for one carrier.

    The defaults suit a carrier API whose p99 latency is a few seconds: an attempt that has not answered in
    ``attempt_timeout_s`` is abandoned, and no call (all attempts and pauses together) outlives
    ``deadline_s``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempt_timeout_s: float = Field(default=10.0, gt=0, description="limit of one attempt")
    deadline_s: float = Field(default=30.0, gt=0, description="limit of the whole call, pauses included")
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_s: float = Field(default=0.5, gt=0, description="first backoff ceiling; doubles each time")
    backoff_cap_s: float = Field(default=8.0, gt=0, description="largest backoff ceiling")
    retry_after_cap_s: float = Field(default=30.0, ge=0, description="largest Retry-After honoured")
    breaker_failure_threshold: int = Field(default=5, ge=1, description="consecutive failures that open it")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, description="open time before one probe")
    max_concurrency: int = Field(
        default=8,
        ge=1,
        description="calls in flight to this carrier at once; waiting for a slot counts towards the deadline",
    )

    @model_validator(mode="after")
    def _coherent(self) -> CallPolicy:
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be at least backoff_base_s")
        return self


class AttemptOutcome(enum.StrEnum):
    """How one attempt ended."""

    SUCCESS = "success"
    TRANSIENT = "transient"  # not applied; retried while the policy allows
    TIMEOUT = "timeout"  # our per-attempt timeout or the deadline cut it short
    AMBIGUOUS = "ambiguous"  # a create that may have been applied; reconciled by reference
    PERMANENT = "permanent"  # rejected, not found, not supported: never retried
    AUTH_REFUSED = "auth_refused"  # our credentials refused: the service's configuration, counted apart
    CIRCUIT_OPEN = "circuit_open"  # the breaker refused; the adapter was not called
    BUSY = "busy"  # no concurrency slot came free before the deadline; the adapter was not called
    ERROR = "error"  # an exception outside the carrier error tree (a bug): never retried


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One call to an adapter (or one refusal by the breaker), as reported to ``on_attempt``."""

    carrier: str
    operation: str
    attempt: int
    latency_s: float
    outcome: AttemptOutcome
    error_type: str | None = None
