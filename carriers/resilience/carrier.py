"""``ResilientCarrier``: any adapter wrapped with timeouts, retries, a breaker, a bulkhead, reconciliation.

It implements the same ``CarrierAdapter`` protocol as the adapter it wraps, so the service cannot tell the
difference except that calls become safe to make:

* each attempt runs under ``attempt_timeout_s`` and the whole call under ``deadline_s`` (pauses included);
* ``CarrierTransientError`` is retried with exponential backoff and full jitter (tenacity), honouring a
  carrier's ``retry_after`` up to ``retry_after_cap_s``; anything else is raised as is, never a
  ``RetryError``;
* one circuit breaker and one concurrency limit (semaphore) per wrapped carrier; the wait for a slot counts
  towards the deadline, and a call that gets none in time raises ``CarrierBusy`` (nothing was sent), so no
  call outlasts ``deadline_s``: the service's booking lease relies on that;
* **never twice**: a create (``schedule_pickup``, ``create_shipment``) whose outcome is ambiguous (the adapter
  raised ``CarrierAmbiguousError``, or our attempt timeout fired after the request may have left) is followed
  by a lookup by our reference (``find_pickup`` / ``find_shipment``); the booking found is returned, and only
  if none exists is the create sent again. An adapter that cannot look up makes the wrapper raise
  ``CarrierAmbiguousError`` at once, and so does a call that runs out of attempts or time while the outcome
  is still open: the service's outbox reconciles later;
* cancels and voids are idempotent at the adapter (already cancelled counts as success), so their
  ambiguous outcomes are simply retried;
* every attempt is logged and reported through ``on_attempt``.

Retrying happens here and nowhere else: adapters make exactly one attempt per call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from carriers.base import CarrierAdapter, LabelRecovery, Sleep, lookup_lag_s
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierBusy,
    CarrierCircuitOpen,
    CarrierError,
    CarrierNotSupported,
    CarrierRateLimited,
    CarrierTimeout,
    CarrierTransientError,
)
from carriers.models import (
    Capability,
    CarrierLabel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)
from carriers.resilience.breaker import CircuitBreaker
from carriers.resilience.policy import AttemptOutcome, AttemptRecord, CallPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")
OnAttempt = Callable[[AttemptRecord], None]


def _loop_time() -> float:
    # The event loop's clock: the one asyncio.timeout() uses, and the one virtual-time tests control.
    return asyncio.get_running_loop().time()


class _Ambiguity:
    """Whether a create of this call may already have been applied at the carrier."""

    __slots__ = ("error", "open")

    def __init__(self) -> None:
        self.open = False
        self.error: CarrierAmbiguousError | None = None


class _PastDeadline(stop_base):
    """Stop rather than sleep into the deadline: a pause that ends after it is wasted."""

    def __init__(self, monotonic: Callable[[], float], started: float, deadline_s: float) -> None:
        self._monotonic = monotonic
        self._started = started
        self._deadline_s = deadline_s

    def __call__(self, state: RetryCallState) -> bool:
        return self._monotonic() - self._started + state.upcoming_sleep >= self._deadline_s


class ResilientCarrier:
    """Wraps one adapter; see the module docstring for what each call guarantees."""

    def __init__(
        self,
        adapter: CarrierAdapter,
        policy: CallPolicy | None = None,
        *,
        monotonic: Callable[[], float] | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        on_attempt: OnAttempt | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.adapter = adapter
        self.policy = policy or CallPolicy()
        self.name = adapter.name
        self.capabilities = adapter.capabilities
        self.max_track_batch = adapter.max_track_batch
        self.lookup_lag_s = lookup_lag_s(adapter)
        self._monotonic = monotonic or _loop_time
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._on_attempt = on_attempt
        self.breaker = breaker or CircuitBreaker(
            adapter.name,
            failure_threshold=self.policy.breaker_failure_threshold,
            cooldown_s=self.policy.breaker_cooldown_s,
            monotonic=self._monotonic,
        )
        self._slots = asyncio.Semaphore(self.policy.max_concurrency)

    # -- the protocol ----------------------------------------------------------------------------------

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        def lookup() -> Awaitable[PickupBooking | None]:
            return self.adapter.find_pickup(request.reference, request.pickup_date)

        return await self._create(
            "schedule_pickup",
            lambda: self.adapter.schedule_pickup(request),
            "find_pickup",
            lookup if Capability.FIND_PICKUP in self.capabilities and not self.lookup_lag_s else None,
        )

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        def lookup() -> Awaitable[ShipmentBooking | None]:
            return self.adapter.find_shipment(request.reference)

        return await self._create(
            "create_shipment",
            lambda: self.adapter.create_shipment(request),
            "find_shipment",
            # Where the carrier's search lags, an ambiguous create is left to the caller to look up later.
            lookup if Capability.FIND_SHIPMENT in self.capabilities and not self.lookup_lag_s else None,
        )

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        await self._call("cancel_pickup", lambda: self.adapter.cancel_pickup(booking), idempotent_change=True)

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        await self._call("void_shipment", lambda: self.adapter.void_shipment(booking), idempotent_change=True)

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        return await self._call("find_pickup", lambda: self.adapter.find_pickup(reference, pickup_date))

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        return await self._call("find_shipment", lambda: self.adapter.find_shipment(reference))

    async def recover_label(self, booking: ShipmentBooking) -> CarrierLabel | None:
        """The carrier's label for a booking, fetched again (``LabelRecovery``); None if it has no such call."""
        adapter = self.adapter
        if Capability.RECOVER_LABEL not in self.capabilities or not isinstance(adapter, LabelRecovery):
            return None
        return await self._call("recover_label", lambda: adapter.recover_label(booking))

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        """Track any number of tracking numbers, in batches of the adapter's ``max_track_batch``."""
        results: list[TrackingResult] = []
        size = max(1, self.max_track_batch)
        for start in range(0, len(tracking_numbers), size):
            batch = list(tracking_numbers[start : start + size])
            results.extend(await self._call("track", functools.partial(self.adapter.track, batch)))
        return results

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        # Pure verification, no carrier call: nothing to retry or break.
        return self.adapter.parse_push(headers, body)

    async def aclose(self) -> None:
        await self.adapter.aclose()

    # -- machinery ------------------------------------------------------------------------------------

    async def _call(self, operation: str, send: Callable[[], Awaitable[T]], *, idempotent_change: bool = False) -> T:
        """A read or an idempotent change: transient (and, for changes, ambiguous) outcomes are retried."""
        started = self._monotonic()

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, CarrierTransientError) or (
                idempotent_change and isinstance(exc, CarrierAmbiguousError)
            )

        def step(number: int) -> Awaitable[T]:
            return self._attempt(operation, number, started, send, creates=False)

        return await self._attempts(started, retryable, step)

    async def _create(
        self,
        operation: str,
        send: Callable[[], Awaitable[T]],
        lookup_operation: str,
        lookup: Callable[[], Awaitable[T | None]] | None,
    ) -> T:
        started = self._monotonic()
        ambiguity = _Ambiguity()

        async def step(number: int) -> T:
            if ambiguity.open and lookup is not None:
                found = await self._attempt(lookup_operation, number, started, lookup, creates=False)
                if found is not None:
                    logger.info(
                        "ambiguous %s reconciled: booking found by reference",
                        operation,
                        extra={"carrier": self.name, "operation": operation},
                    )
                    return found
                ambiguity.open = False  # not there: the earlier attempt was not applied
            try:
                return await self._attempt(operation, number, started, send, creates=True)
            except CarrierAmbiguousError as exc:
                ambiguity.open = True
                ambiguity.error = exc
                if lookup is None:
                    raise
                raise _Reconcile from exc

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, CarrierTransientError | _Reconcile)

        try:
            return await self._attempts(started, retryable, step)
        except _Reconcile as exc:
            cause = exc.__cause__
            assert isinstance(cause, CarrierAmbiguousError)
            raise cause from None
        except CarrierError as exc:
            if ambiguity.open and not isinstance(exc, CarrierAmbiguousError):
                # We could not find out whether the create was applied: never guess.
                raise CarrierAmbiguousError(
                    f"{operation} outcome still unknown: {exc.message}",
                    carrier=self.name,
                    operation=operation,
                ) from exc
            raise

    async def _attempts(
        self, started: float, retryable: Callable[[BaseException], bool], step: Callable[[int], Awaitable[T]]
    ) -> T:
        """Attempt 1 runs straight away, as most calls need nothing more. If it fails in a way worth retrying,
        tenacity takes over, with that failure as its own first attempt, so backoff and stop count it."""
        try:
            return await step(1)
        except BaseException as exc:
            if not _should_retry(retryable, exc):
                raise
            first = exc
        async for attempt in self._retrying(started, retryable):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first
                return await step(number)
        raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover

    def _retrying(self, started: float, retryable: Callable[[BaseException], bool]) -> AsyncRetrying:
        policy = self.policy

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            if isinstance(exc, CarrierRateLimited) and exc.retry_after is not None:
                return min(max(exc.retry_after, 0.0), policy.retry_after_cap_s)
            ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (state.attempt_number - 1))
            return self._rng.uniform(0.0, ceiling)  # full jitter

        return AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts) | _PastDeadline(self._monotonic, started, policy.deadline_s),
            wait=wait,
            retry=retry_if_exception(functools.partial(_should_retry, retryable)),
            sleep=self._sleep,
            reraise=True,
        )

    async def _attempt(
        self,
        operation: str,
        number: int,
        started: float,
        send: Callable[[], Awaitable[T]],
        *,
        creates: bool,
    ) -> T:
        """One call to the adapter: breaker, bulkhead, timeout, classification, log and report."""
        begin = self._monotonic()
        try:
            probe = self.breaker.acquire(operation)
        except CarrierError as exc:
            self._report(operation, number, 0.0, AttemptOutcome.CIRCUIT_OPEN, exc)
            raise
        outcome = AttemptOutcome.ERROR
        error: BaseException | None = None
        try:
            await self._take_slot(operation, started)
            try:
                # The attempt's time starts once it holds its slot, and the wait for the slot counts towards
                # the deadline: a call never outlasts ``deadline_s``, which a booking's lease relies on.
                sending = self._monotonic()
                budget = min(self.policy.attempt_timeout_s, self._time_left(started))
                if budget <= 0:
                    raise CarrierBusy(
                        f"{operation}: a slot came free only at the deadline; not sent",
                        carrier=self.name,
                        operation=operation,
                    )
                try:
                    async with asyncio.timeout(budget):
                        result = await send()
                except TimeoutError as exc:
                    waited = self._monotonic() - sending
                    if creates:
                        raise CarrierAmbiguousError(
                            f"{operation}: no answer in {waited:.3f} s; the request may have been applied",
                            carrier=self.name,
                            operation=operation,
                        ) from exc
                    message = f"{operation}: no answer within {waited:.3f} s"
                    raise CarrierTimeout(message, carrier=self.name, operation=operation) from exc
            finally:
                self._slots.release()
            outcome = AttemptOutcome.SUCCESS
            self.breaker.record_success(probe)
            return result
        except BaseException as exc:
            error = exc
            outcome = _classify(exc)
            if outcome in (AttemptOutcome.TIMEOUT, AttemptOutcome.AMBIGUOUS) or (
                outcome is AttemptOutcome.TRANSIENT and not isinstance(exc, CarrierRateLimited)
            ):
                self.breaker.record_failure(probe)
            elif outcome in (AttemptOutcome.PERMANENT, AttemptOutcome.AUTH_REFUSED) and not isinstance(
                exc, CarrierNotSupported
            ):
                self.breaker.record_success(probe)  # the carrier answered: it is alive
            else:
                self.breaker.record_neutral(probe)
            raise
        finally:
            self._report(operation, number, self._monotonic() - begin, outcome, error)

    def _time_left(self, started: float) -> float:
        """Seconds left of the deadline of a call that started at ``started``."""
        return self.policy.deadline_s - (self._monotonic() - started)

    async def _take_slot(self, operation: str, started: float) -> None:
        """One of the carrier's concurrency slots, waited for no longer than what is left of the deadline."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: taken without waiting
            return
        try:
            async with asyncio.timeout(max(self._time_left(started), 0.0)):
                await self._slots.acquire()
        except TimeoutError:
            raise CarrierBusy(
                f"{operation}: all {self.policy.max_concurrency} slots stayed taken until the deadline; not sent",
                carrier=self.name,
                operation=operation,
            ) from None

    def _report(
        self,
        operation: str,
        number: int,
        latency_s: float,
        outcome: AttemptOutcome,
        error: BaseException | None,
    ) -> None:
        record = AttemptRecord(
            carrier=self.name,
            operation=operation,
            attempt=number,
            latency_s=latency_s,
            outcome=outcome,
            error_type=type(error).__name__ if error is not None else None,
        )
        level = logging.INFO if outcome is AttemptOutcome.SUCCESS else logging.WARNING
        if logger.isEnabledFor(level):  # the line's arguments are built only when it is written
            logger.log(
                level,
                "carrier attempt %s %s #%d: %s in %.1f ms%s",
                record.carrier,
                record.operation,
                record.attempt,
                record.outcome,
                record.latency_s * 1000,
                f" ({record.error_type})" if record.error_type else "",
                extra={
                    "carrier": record.carrier,
                    "operation": record.operation,
                    "attempt": record.attempt,
                    "latency_s": record.latency_s,
                    "outcome": str(record.outcome),
                },
            )
        if self._on_attempt is not None:
            self._on_attempt(record)


def _should_retry(retryable: Callable[[BaseException], bool], exc: BaseException) -> bool:
    # CarrierCircuitOpen is transient but retrying it would defeat failing fast.
    return retryable(exc) and not _is_circuit_open(exc)


class _Reconcile(Exception):
    """Internal: an ambiguous create that the next attempt must look up before creating again."""


def _is_circuit_open(exc: BaseException) -> bool:
    return isinstance(exc, CarrierCircuitOpen)


def _classify(exc: BaseException) -> AttemptOutcome:
    if isinstance(exc, CarrierTimeout):
        return AttemptOutcome.TIMEOUT
    if isinstance(exc, CarrierBusy):
        return AttemptOutcome.BUSY
    if isinstance(exc, CarrierTransientError):
        return AttemptOutcome.TRANSIENT
    if isinstance(exc, CarrierAmbiguousError):
        if isinstance(exc.__cause__, TimeoutError):
            return AttemptOutcome.TIMEOUT
        return AttemptOutcome.AMBIGUOUS
    if isinstance(exc, CarrierAuthError):
        return AttemptOutcome.AUTH_REFUSED
    if isinstance(exc, CarrierError):  # rejected, not found, not supported
        return AttemptOutcome.PERMANENT
    return AttemptOutcome.ERROR


__all__ = ["OnAttempt", "ResilientCarrier"]
