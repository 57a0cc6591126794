"""A circuit breaker for one carrier: stop calling a carrier that keeps failing, probe it after a pause.

States: *closed* (calls go through, consecutive failures counted), *open* (calls refused at once with
``CarrierCircuitOpen``), *half-open* (after the cool-down exactly one probe goes through; its success closes
the breaker, its failure opens it again). Only failures that say the carrier is unwell count: timeouts,
unavailability and ambiguous outcomes. A rejection proves the carrier is answering, so it counts as health.
The breaker is driven by an injected monotonic clock and does no I/O; it is safe within one event loop.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from carriers.errors import CarrierCircuitOpen

logger = logging.getLogger(__name__)


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    def __init__(
        self,
        carrier: str,
        *,
        failure_threshold: int,
        cooldown_s: float,
        monotonic: Callable[[], float],
    ) -> None:
        self.carrier = carrier
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def acquire(self, operation: str) -> bool:
        """Allow a call or raise ``CarrierCircuitOpen``. Returns True when the call is the half-open probe."""
        if self._state is BreakerState.CLOSED:
            return False
        if self._state is BreakerState.OPEN:
            if self._monotonic() - self._opened_at < self._cooldown_s:
                raise CarrierCircuitOpen(f"circuit open for {self.carrier}", carrier=self.carrier, operation=operation)
            self._state = BreakerState.HALF_OPEN
            logger.info("circuit half-open: probing", extra={"carrier": self.carrier})
        if self._probe_in_flight:
            message = f"circuit half-open for {self.carrier}: probe in flight"
            raise CarrierCircuitOpen(message, carrier=self.carrier, operation=operation)
        self._probe_in_flight = True
        return True

    def record_success(self, probe: bool) -> None:
        if probe:
            self._probe_in_flight = False
            logger.info("circuit closed after a successful probe", extra={"carrier": self.carrier})
        self._state = BreakerState.CLOSED
        self._failures = 0

    def record_failure(self, probe: bool) -> None:
        if probe:
            self._probe_in_flight = False
            self._open()
            return
        self._failures += 1
        if self._state is BreakerState.CLOSED and self._failures >= self._threshold:
            self._open()

    def record_neutral(self, probe: bool) -> None:
        """An outcome that says nothing of the carrier's health (rate limit, our own bug, cancellation)."""
        if probe:
            # The probe proved nothing: stay half-open so the next caller probes again.
            self._probe_in_flight = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._monotonic()
        self._failures = 0
        logger.warning("circuit opened", extra={"carrier": self.carrier})
