"""Carrier bookings through a durable outbox: never lost, never made twice.

Every carrier call that changes something is first recorded as a ``BookingIntent`` with a stable reference,
in the same transaction as the repair change that needs it. An attempt holds a *lease* on the intent,
written and committed before the carrier is called, then calls the carrier with that reference and records
the outcome in one transaction.

- The request path creates its intents already leased (in the transaction that records the repair change),
  so the carrier is called right after that commit with no extra write; a follow-up booking (the courier
  pickup after its shipment) is created leased in the transaction that records the first. The caller
  usually gets the booking at once.
- Chained pickup: when a new repair's shipment succeeds and its carrier can look pickups up by reference,
  the pickup is booked at once, under the shipment's lease, and both outcomes are recorded in one
  transaction. Should the process die in between, the shipment is taken over (and looked up) once its lease
  runs out, and the pickup that follows it is then looked up before it is booked, so it is never booked
  twice. A carrier without that lookup gets the pickup as a follow-up, recorded before it is called.
- The worker (``run_due``) claims what is left: intents whose lease ran out (a crash, a stall) and intents
  waiting for a retry. An intent attempted before is first looked up at the carrier by our reference; only
  if the carrier has nothing is it created again. An adapter that cannot look up leaves such an intent
  failed and flagged for reconciliation by hand rather than risk a second booking.
- A create retried after its repair was cancelled (or, for a pickup, after a reschedule moved it) is only
  looked up: found, it is recorded and undone like any booking that landed late; not found, the intent ends
  ``cancelled`` and nothing is booked.
- A pickup shared with other repairs (UPS gives every pickup at one address on one date the same PRN) is
  cancelled at the carrier only when the last repair waiting for that courier no longer needs it; until
  then a cancellation or a reschedule leaves it booked and records for whom it was kept.
- Transient failures back off exponentially up to ``retry_max_s``; permanent refusals fail the intent and
  raise a flag on the repair, which the case system is told about.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from carriers import (
    CarrierAdapter,
    CarrierAmbiguousError,
    CarrierError,
    CarrierTransientError,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
)
from carriers.base import LabelRecovery, lookup_lag_s
from carriers.models import Capability
from logistics.clock import Clock
from logistics.domain.journey import JourneyState, LegDirection, LegStatus
from logistics.domain.model import Change, Repair
from logistics.domain.references import pickup_reference, sweep_reference
from logistics.services import carrier_requests, outbox
from logistics.services.notifications import record
from logistics.services.outbox import CANCELS, CREATES, UNDOES, IntentStatus, JsonObject, Operation, new_intent
from logistics.services.ports import BookingIntent, Store, Transaction

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=120)  # longer than a carrier call's overall deadline
DEFAULT_CALL_DEADLINE = timedelta(seconds=30)  # a carrier call's overall deadline (the call policy's)


@dataclass(frozen=True)
class Outcome:
    """What one attempt left behind: the intent, the repair as recorded, and a leased follow-up to run."""

    intent: BookingIntent
    repair: Repair | None = None
    follow_up: BookingIntent | None = None


@dataclass(frozen=True)
class _Answer:
    """A carrier's answer to an intent: as recorded on the intent (``data``), and the booking it made."""

    data: JsonObject
    shipment: ShipmentBooking | None = None
    pickup: PickupBooking | None = None


@dataclass(frozen=True)
class _Chained:
    """A courier pickup booked right after its shipment, before either was recorded: its intent, leased, and
    the carrier's answer (``result``) or refusal (``error``)."""

    intent: BookingIntent
    result: _Answer | None = None
    error: CarrierError | None = None


class _Unverifiable(CarrierError):
    """An intent attempted before whose booking the carrier cannot look up: creating again could book twice."""


class _SearchLagging(CarrierTransientError):
    """Not found by reference, but the carrier's search may not show the booking yet: look again later."""

    def __init__(self, message: str, *, carrier: str, operation: str, wait: timedelta) -> None:
        super().__init__(message, carrier=carrier, operation=operation)
        self.wait = wait


class _NotWanted(Exception):
    """A booking no longer wanted was looked up, and the carrier holds none: nothing to book or undo."""


#: When the request now being served arrived (its event loop's time), for the booking budget; set by the API.
REQUEST_STARTED: ContextVar[float | None] = ContextVar("request_started", default=None)

#: How a failure the service's own configuration caused is recorded (``last_error`` starts with it).
AUTH_REFUSED = "CarrierAuthError"
NOT_ENABLED = "CarrierNotEnabled"
UNKNOWN_OPERATION = "UnknownOperation"
REJECTED = "CarrierRejected:"


def is_configuration_failure(last_error: str | None) -> bool:
    """Whether a booking failed because of our settings (credentials refused, carrier not enabled), not
    because the carrier refused the request: fixed settings book it."""
    return last_error is not None and last_error.startswith((AUTH_REFUSED + ":", NOT_ENABLED + ":"))


# A leg in these states still waits for its courier: a pickup it shares with another repair stays booked.
_AWAITING_COURIER = frozenset({LegStatus.LABEL_CREATED, LegStatus.PICKUP_SCHEDULED, LegStatus.BOOKING_PENDING})


class Bookings:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        carriers: Mapping[str, CarrierAdapter],
        *,
        retry_max_s: float = 600.0,
        lease: timedelta = DEFAULT_LEASE,
        call_deadline: timedelta = DEFAULT_CALL_DEADLINE,
        rng: random.Random | None = None,
        budget: timedelta | None = None,
    ) -> None:
        self.lease = lease
        self._budget = budget
        self._in_background: set[asyncio.Task[Outcome]] = set()
        self._call_deadline = call_deadline
        self._store = store
        self._clock = clock
        self._carriers = carriers
        self._retry_max_s = retry_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def run_due(self, limit: int = 50) -> int:
        """Attempt every intent that is due; returns how many were attempted."""
        due = await self._store.reader().due_intents(self._clock.now(), limit)
        for intent in due:
            await self.attempt(intent.reference)
        return len(due)

    async def retry_failed(
        self,
        *,
        repair_id: str | None = None,
        carrier: str | None = None,
        configuration_only: bool = False,
        limit: int = 1000,
    ) -> list[BookingIntent]:
        """Put bookings that failed for good back in the outbox, due now; returns them as re-queued.

        For an operator (by repair, by carrier, or all) once the cause is fixed, and at start-up for the
        failures the service's own configuration caused (credentials refused, a carrier not enabled): a
        fixed configuration then books them. A create whose repair was cancelled, or a pickup for a slot the
        repair no longer has, is left as it is. A create that failed at its first attempt on our own
        configuration never reached the carrier and is made as new; any other is looked up by reference
        first, as every retry is, so nothing is booked twice."""
        now = self._clock.now()
        reader = self._store.reader()
        failed = await reader.failed_intents(repair_id=repair_id, carrier=carrier, limit=limit)
        if configuration_only:
            failed = [intent for intent in failed if is_configuration_failure(intent.last_error)]
        repairs = await reader.get_repairs(sorted({intent.repair_id for intent in failed}))
        queued: list[BookingIntent] = []
        async with self._store.transaction() as tx:
            for intent in failed:
                repair = repairs.get(intent.repair_id)
                if intent.operation in CREATES and (
                    repair is None
                    or repair.state is JourneyState.CANCELLED
                    or (intent.operation == Operation.SCHEDULE_PICKUP and _stale_pickup(repair, intent))
                ):
                    continue
                # Its one attempt refused (our credentials, or the carrier's answer): nothing was booked.
                never_booked = intent.attempts <= 1 and (
                    is_configuration_failure(intent.last_error) or (intent.last_error or "").startswith(REJECTED)
                )
                attempts = 0 if never_booked else intent.attempts
                await outbox.mark_pending(tx, intent, attempts=attempts, due=now, last_error=intent.last_error, now=now)
                queued.append(
                    dataclasses.replace(intent, status=IntentStatus.PENDING, attempts=attempts, next_attempt_at=now)
                )
        if queued:
            logger.warning(
                "%d failed booking(s) put back in the outbox: %s",
                len(queued),
                ", ".join(intent.reference for intent in queued),
            )
        return queued

    async def run_due_for(self, repair_id: str) -> None:
        """Attempt, inline, the due intents of one repair (the request path; the worker covers the rest)."""
        for intent in await self._store.reader().intents_for(repair_id):
            if intent.status == IntentStatus.PENDING and intent.next_attempt_at <= self._clock.now():
                await self.attempt(intent.reference)

    async def attempt(self, reference: str) -> Outcome | None:
        """Claim one due intent and run it (and its follow-ups); None when it is not due or held elsewhere."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            intent = await tx.claim_intent(reference, now, now + self.lease)
        if intent is None:
            return None
        return await self.run_leased(intent)

    async def run_in_budget(self, intent: BookingIntent, *, repair: Repair | None = None) -> Outcome | None:
        """``run_leased`` for a request that answers within the booking budget: None when the booking is not
        done by then. It goes on in the background under its lease, records what the carrier answers and
        notifies the case system as any booking does; a process that stops meanwhile leaves it to the worker
        once the lease runs out (looked up first, so never booked twice)."""
        task = asyncio.create_task(self.run_leased(intent, repair=repair), name=f"booking:{intent.reference}")
        if self._budget is None:
            return await task
        self._in_background.add(task)
        task.add_done_callback(self._in_background.discard)
        # The budget is the caller's whole wait: counted from when its request arrived, with 15 % kept
        # for recording and answering (a loaded event loop takes its time).
        budget = self._budget.total_seconds()
        started = REQUEST_STARTED.get()
        spent = asyncio.get_running_loop().time() - started if started is not None else 0.0
        done, _ = await asyncio.wait({task}, timeout=max(0.0, 0.85 * budget - spent))
        if task in done:
            return task.result()
        logger.info("booking %s still running after the %s budget: answered pending", intent.reference, self._budget)
        return None

    async def drain(self, timeout_s: float = 30.0) -> None:
        """At shutdown: let bookings still running in the background finish (their leases cover the rest)."""
        if self._in_background:
            await asyncio.wait(set(self._in_background), timeout=timeout_s)
        for task in set(self._in_background):
            task.cancel()

    async def run_leased(self, intent: BookingIntent, *, repair: Repair | None = None) -> Outcome:
        """Run an intent whose lease the caller holds, then the follow-ups it creates, leased, one by one.

        ``repair`` is the repair as the caller just recorded it with the intent: given for a new repair's
        shipment, its courier pickup may be chained to it (see the module docstring)."""
        outcome = await self._execute(intent, repair)
        while outcome.follow_up is not None:
            outcome = await self._execute(outcome.follow_up)
        return outcome

    async def _execute(self, intent: BookingIntent, planned: Repair | None = None) -> Outcome:
        if Operation.named(intent.operation) is None:
            # Written by another release, or by hand: retrying cannot teach this release what it means.
            return await self._fail(
                intent, f"{UNKNOWN_OPERATION}: {intent.operation!r} is not an operation of this release"
            )
        adapter = self._carriers.get(intent.carrier)
        if adapter is None:
            return await self._fail(intent, f"{NOT_ENABLED}: carrier {intent.carrier!r} is not enabled here")
        # A booking retried after its repair was cancelled, or its pickup moved, is only looked up (a former
        # attempt may have made it, and then it is undone like any late booking), never made anew.
        create = intent.attempts <= 1 or intent.operation not in CREATES or await self._still_wanted(intent)
        try:
            result = await self._call(adapter, intent, create=create)
        except _NotWanted:
            return await self._drop(intent)
        except (CarrierTransientError, CarrierAmbiguousError) as exc:
            return await self._retry_later(intent, exc)
        except CarrierError as exc:
            return await self._fail(intent, _describe(exc))
        chained = None
        lease_left = intent.next_attempt_at - self._clock.now()
        if (
            planned is not None
            and result.shipment is not None
            and Capability.FIND_PICKUP in adapter.capabilities
            and lease_left > self._call_deadline  # the pickup call ends before anyone may take the lease over
        ):
            chained = await self._chain_pickup(adapter, intent, planned, result.shipment)
        return await self._succeed(intent, result, chained)

    async def _chain_pickup(
        self, adapter: CarrierAdapter, shipment_intent: BookingIntent, planned: Repair, shipment: ShipmentBooking
    ) -> _Chained | None:
        leg = planned.leg(shipment_intent.leg)
        if leg is None or leg.pickup is None or shipment_intent.leg is not LegDirection.INBOUND:
            return None
        intent = self._pickup_intent(planned, shipment_intent, shipment, self._clock.now())
        try:
            return _Chained(intent, result=await self._call(adapter, intent))
        except CarrierError as exc:
            return _Chained(intent, error=exc)

    def _pickup_intent(
        self, repair: Repair, shipment_intent: BookingIntent, shipment: ShipmentBooking, now: datetime
    ) -> BookingIntent:
        """The courier pickup that follows a leg's shipment, leased to the caller."""
        leg = repair.leg(shipment_intent.leg)
        assert leg is not None and leg.pickup is not None
        pickup = carrier_requests.pickup_request(
            leg.pickup_reference,
            repair.site,
            carrier_requests.repair_parcels(repair),
            leg.pickup,
            shipment.tracking_numbers,
        )
        return new_intent(
            pickup.reference,
            repair.id,
            shipment_intent.leg,
            Operation.SCHEDULE_PICKUP,
            shipment_intent.carrier,
            pickup.model_dump(mode="json"),
            now,
            lease=self.lease,
            carrier_request=pickup,
        )

    def _retry_delay(self, attempts: int) -> timedelta:
        delay = min(self._retry_max_s, 2.0 ** min(attempts, 16))
        return timedelta(seconds=self._rng.uniform(delay / 2, delay))

    async def _still_wanted(self, intent: BookingIntent) -> bool:
        repair = await self._store.reader().get_repair(intent.repair_id)
        if repair is None or repair.state is JourneyState.CANCELLED:
            return False
        return intent.operation != Operation.SCHEDULE_PICKUP or not _stale_pickup(repair, intent)

    async def _drop(self, intent: BookingIntent) -> Outcome:
        """An intent no longer wanted, of which the carrier holds nothing: ended without a booking."""
        now = self._clock.now()
        error = "no longer wanted (repair cancelled or pickup moved); the carrier holds nothing under it"
        logger.info("booking %s (%s) dropped: %s", intent.reference, intent.operation, error)
        async with self._store.transaction() as tx:
            await outbox.mark_cancelled(tx, intent, error, now)
        return Outcome(dataclasses.replace(intent, status=IntentStatus.CANCELLED, last_error=error))

    async def _call(self, adapter: CarrierAdapter, intent: BookingIntent, *, create: bool = True) -> _Answer:
        """Run the intent's carrier call. With ``create`` false, a booking is only looked up: ``_NotWanted``
        when the carrier holds none."""
        op = Operation.named(intent.operation)
        retried = intent.attempts > 1  # attempted before: the carrier may already hold it
        given = intent.carrier_request
        if op is Operation.CREATE_SHIPMENT:
            request = given if isinstance(given, ShipmentRequest) else ShipmentRequest.model_validate(intent.request)
            found = None
            if retried:
                _must_look_up(adapter, Capability.FIND_SHIPMENT, f"shipment {request.reference}")
                found = await adapter.find_shipment(request.reference)
                if found is None:
                    self._not_before_search_caught_up(adapter, intent)
            if found is None and not create:
                raise _NotWanted
            booking = found or await adapter.create_shipment(request)
            booking, not_recovered = await _with_carrier_label(adapter, booking)
            # The label's bytes are stored once, in the carrier labels table, not again inside the result.
            data: JsonObject = {"shipment": booking.model_dump(mode="json", exclude={"label"})}
            if not_recovered is not None:
                data["label_not_recovered"] = not_recovered
            return _Answer(data, shipment=booking)
        if op is Operation.SCHEDULE_PICKUP:
            pickup = given if isinstance(given, PickupRequest) else PickupRequest.model_validate(intent.request)
            found_pickup = None
            if retried:
                _must_look_up(adapter, Capability.FIND_PICKUP, f"pickup {pickup.reference}")
                found_pickup = await adapter.find_pickup(pickup.reference, pickup.pickup_date)
            if found_pickup is None and not create:
                raise _NotWanted
            confirmation = found_pickup or await adapter.schedule_pickup(pickup)
            return _Answer({"pickup": confirmation.model_dump(mode="json")}, pickup=confirmation)
        if op is Operation.CANCEL_PICKUP:
            cancelled = PickupBooking.model_validate(intent.request)
            sharing = await self._sharing_repairs(intent.carrier, cancelled)
            if sharing:
                _log_kept(cancelled, sharing)
                return _Answer({"kept_for": [*sharing]})
            await adapter.cancel_pickup(cancelled)
            return _Answer({})
        if op is Operation.CANCEL_PICKUP_IF_BOOKED:
            booked = await adapter.find_pickup(
                str(intent.request["reference"]), date.fromisoformat(str(intent.request["date"]))
            )
            sharing = await self._sharing_repairs(intent.carrier, booked) if booked is not None else []
            if booked is not None and sharing:
                _log_kept(booked, sharing)
                return _Answer({"cancelled": None, "kept_for": [*sharing]})
            if booked is not None:
                await adapter.cancel_pickup(booked)
            return _Answer({"cancelled": booked.model_dump(mode="json") if booked is not None else None})
        assert op is Operation.VOID_SHIPMENT  # an unknown operation is failed before it gets here
        await adapter.void_shipment(ShipmentBooking.model_validate(intent.request))
        return _Answer({})

    async def _sharing_repairs(self, carrier: str, booking: PickupBooking) -> list[str]:
        """Other live repairs whose courier comes under the same pickup number.

        UPS answers one PRN for every pickup at the same address on the same date: a pickup is cancelled at
        the carrier only when none of the repairs booked under it still waits for that courier."""
        reader = self._store.reader()
        holders = [
            held
            for held in await reader.pickup_holders(carrier, booking.confirmation)
            if held.reference != booking.reference
        ]
        if not holders:
            return []
        repairs = await reader.get_repairs(sorted({held.repair_id for held in holders}))
        sharing: list[str] = []
        for held in holders:
            repair = repairs.get(held.repair_id)
            if repair is None or repair.state is JourneyState.CANCELLED:
                continue
            leg = repair.leg(held.leg)
            if (
                leg is not None
                and leg.pickup_reference == held.reference
                and leg.pickup_confirmation == booking.confirmation
                and leg.status in _AWAITING_COURIER
            ):
                sharing.append(repair.id)
        return sharing

    def _not_before_search_caught_up(self, adapter: CarrierAdapter, intent: BookingIntent) -> None:
        """A create not found by reference is made again only once the carrier's search has caught up with
        the first attempt (DHL's lags 10 to 30 minutes); until then it waits."""
        lag = timedelta(seconds=lookup_lag_s(adapter))
        started = intent.created_at
        if lag and started is not None and self._clock.now() - started < lag:
            left = lag - (self._clock.now() - started)
            raise _SearchLagging(
                f"not found by reference yet; {intent.carrier}'s search may lag: looked up again in {left}",
                carrier=intent.carrier,
                operation=intent.operation,
                wait=left,
            )

    async def _retry_later(self, intent: BookingIntent, exc: CarrierError) -> Outcome:
        now = self._clock.now()
        delay = self._retry_delay(intent.attempts)
        adapter = self._carriers.get(intent.carrier)
        if isinstance(exc, _SearchLagging):
            delay = max(delay, exc.wait)
        elif isinstance(exc, CarrierAmbiguousError) and intent.operation in CREATES and adapter is not None:
            # Perhaps booked: looked up only once the carrier's search by reference can show it.
            delay = max(delay, timedelta(seconds=lookup_lag_s(adapter)))
        _log_retry(intent, delay, exc)
        error = _describe(exc)
        retry_at = now + delay
        async with self._store.transaction() as tx:
            await outbox.mark_pending(tx, intent, attempts=intent.attempts, due=retry_at, last_error=error, now=now)
        return Outcome(dataclasses.replace(intent, next_attempt_at=retry_at, last_error=error))

    async def _fail(self, intent: BookingIntent, error: str) -> Outcome:
        now = self._clock.now()
        logger.error("booking %s (%s) failed for good: %s", intent.reference, intent.operation, error)
        async with self._store.transaction() as tx:
            await outbox.mark_failed(tx, intent, error, now)
            repair = await tx.get_repair(intent.repair_id)
            if repair is not None and intent.operation in CREATES:
                change = _flag_failure(repair, intent, error, now)
                await tx.save_repair(repair)
                await record(tx, repair, [change], now)
            elif repair is not None and intent.operation in CANCELS:
                flagged = repair.flag_pickup_not_cancelled(intent.leg, now, intent.reference, intent.operation, error)
                await tx.save_repair(repair)
                await record(tx, repair, [flagged], now)
        return Outcome(dataclasses.replace(intent, status=IntentStatus.FAILED, last_error=error), repair)

    async def _succeed(self, intent: BookingIntent, answer: _Answer, chained: _Chained | None = None) -> Outcome:
        now = self._clock.now()
        result = answer.data
        done = dataclasses.replace(intent, status=IntentStatus.DONE, last_error=None, result=result)
        async with self._store.transaction() as tx:
            await outbox.mark_done(tx, intent, result, now)
            repair = await tx.get_repair(intent.repair_id)
            if repair is None or intent.operation in UNDOES:
                return Outcome(done, repair)
            changes: list[Change] = []
            follow_up = None
            if answer.shipment is not None:
                shipment = answer.shipment
                if shipment.label is not None:
                    await tx.save_carrier_label(repair.id, intent.leg, shipment.label.content_type, shipment.label.data)
                changes += repair.record_booking(
                    intent.leg,
                    now,
                    intent.reference,
                    tracking_number=shipment.tracking_numbers[0],
                    shipment_id=shipment.shipment_id,
                    routing_code=shipment.routing_code,
                    pickup_confirmation=None,
                    carrier_label=shipment.label is not None,
                )
                changes += _clear_failure(repair, intent, now)
                if "label_not_recovered" in result:
                    changes += _flag_label_not_recovered(repair, intent, str(result["label_not_recovered"]), now)
                follow_up, more = await self._after_shipment(tx, repair, intent, shipment, now, chained)
                changes += more
            if answer.pickup is not None and _stale_pickup(repair, intent):
                # Booked for a slot the repair no longer has (rescheduled while the booking was in flight).
                await tx.add_intent(outbox.cancellation(intent, outbox.json_object(result["pickup"]), now))
            elif answer.pickup is not None:
                changes += _clear_failure(repair, intent, now)
                changes += _record_pickup(repair, intent, answer.pickup, now)
                if repair.state is JourneyState.CANCELLED:  # cancelled while the booking was in flight
                    await tx.add_intent(outbox.cancellation(intent, outbox.json_object(result["pickup"]), now))
            await tx.save_repair(repair)
            await record(tx, repair, changes, now)
        return Outcome(done, repair, follow_up)

    async def _after_shipment(
        self,
        tx: Transaction,
        repair: Repair,
        intent: BookingIntent,
        shipment: ShipmentBooking,
        now: datetime,
        chained: _Chained | None,
    ) -> tuple[BookingIntent | None, list[Change]]:
        """What follows a shipment: the courier pickup of an inbound leg (recorded when it was chained, else
        created leased and returned to be run at once), or a void if the repair was cancelled while the
        shipment was in flight. Returns the follow-up to run and the changes to record."""
        adapter = self._carriers.get(intent.carrier)
        # A shipment taken over after its first attempt may have had its pickup chained before the process
        # died (round 1, on the shipment's date): where that pickup is no longer wanted, it is looked up and
        # cancelled if it exists.
        may_have_chained = (
            intent.attempts > 1
            and intent.leg is LegDirection.INBOUND
            and adapter is not None
            and Capability.FIND_PICKUP in adapter.capabilities
        )
        if repair.state is JourneyState.CANCELLED:
            if chained is None and may_have_chained:
                await tx.add_intent(_sweep_chained_pickup(intent, now))
            await tx.add_intent(outbox.void(intent, shipment.model_dump(mode="json", exclude={"label"}), now))
            if chained is not None:
                await self._undo_chained(tx, chained, now)
            return None, []
        leg = repair.leg(intent.leg)
        if leg is None or leg.pickup is None or intent.leg is not LegDirection.INBOUND:
            if chained is not None:
                await self._undo_chained(tx, chained, now)
            return None, []
        if chained is not None:
            if not _stale_pickup(repair, chained.intent):
                return None, await self._record_chained(tx, repair, chained, now)
            await self._undo_chained(tx, chained, now)  # rescheduled meanwhile: book the new slot below
        elif may_have_chained and leg.pickup_round != 1:
            await tx.add_intent(_sweep_chained_pickup(intent, now))  # rescheduled since the first attempt
        follow_up = self._pickup_intent(repair, intent, shipment, now)
        if may_have_chained:
            # A shipment taken over after its first attempt: that attempt may have chained this pickup before
            # the process died, so it is looked up before it is booked.
            follow_up = dataclasses.replace(follow_up, attempts=2)
        await tx.add_intent(follow_up)
        return follow_up, []

    async def _record_chained(self, tx: Transaction, repair: Repair, chained: _Chained, now: datetime) -> list[Change]:
        intent = chained.intent
        if chained.result is not None:
            answer = chained.result
            await tx.add_intent(
                dataclasses.replace(intent, status=IntentStatus.DONE, next_attempt_at=now, result=answer.data)
            )
            assert answer.pickup is not None
            return _record_pickup(repair, intent, answer.pickup, now)
        assert chained.error is not None
        error = _describe(chained.error)
        if isinstance(chained.error, CarrierTransientError | CarrierAmbiguousError):
            delay = self._retry_delay(intent.attempts)
            _log_retry(intent, delay, chained.error)
            await tx.add_intent(dataclasses.replace(intent, next_attempt_at=now + delay, last_error=error))
            return []
        logger.error("booking %s (%s) failed for good: %s", intent.reference, intent.operation, error)
        await tx.add_intent(
            dataclasses.replace(intent, status=IntentStatus.FAILED, next_attempt_at=now, last_error=error)
        )
        return [_flag_failure(repair, intent, error, now)]

    async def _undo_chained(self, tx: Transaction, chained: _Chained, now: datetime) -> None:
        """A chained pickup the repair no longer wants (cancelled or rescheduled while it was booked): kept on
        record, and cancelled at the carrier if it was booked or may have been."""
        intent = chained.intent
        if chained.result is not None:
            data = chained.result.data
            await tx.add_intent(dataclasses.replace(intent, status=IntentStatus.DONE, next_attempt_at=now, result=data))
            await tx.add_intent(outbox.cancellation(intent, outbox.json_object(data["pickup"]), now))
            return
        assert chained.error is not None
        error = _describe(chained.error)
        if isinstance(chained.error, CarrierAmbiguousError):
            # Perhaps booked: the retry looks it up first, and what lands for a stale slot is cancelled.
            await tx.add_intent(dataclasses.replace(intent, next_attempt_at=now, last_error=error))
            return
        status = IntentStatus.CANCELLED if isinstance(chained.error, CarrierTransientError) else IntentStatus.FAILED
        await tx.add_intent(dataclasses.replace(intent, status=status, next_attempt_at=now, last_error=error))


def _record_pickup(repair: Repair, intent: BookingIntent, pickup: PickupBooking, now: datetime) -> list[Change]:
    confirmation = pickup.confirmation
    return repair.record_booking(
        intent.leg,
        now,
        intent.reference,
        tracking_number=None,
        shipment_id=None,
        routing_code=None,
        pickup_confirmation=confirmation,
        carrier_label=False,
    )


async def _with_carrier_label(adapter: CarrierAdapter, booking: ShipmentBooking) -> tuple[ShipmentBooking, str | None]:
    """A booking found by reference (after an ambiguous create, or on a retry) comes without the carrier's
    label: it is fetched again from the carrier where it can be (UPS Label Recovery, DHL's image
    retrieval). Returns the booking, with its label if recovered, and why not if it could not be."""
    if booking.label is not None or Capability.RECOVER_LABEL not in adapter.capabilities:
        return booking, None
    if not isinstance(adapter, LabelRecovery):
        return booking, f"{adapter.name} has no label recovery call"
    try:
        label = await adapter.recover_label(booking)
    except CarrierError as exc:
        logger.warning("label of %s not recovered: %s", booking.reference, exc)
        return booking, _describe(exc)
    if label is None:
        return booking, "the carrier returned no label image"
    return booking.model_copy(update={"label": label}), None


def _flag_label_not_recovered(repair: Repair, intent: BookingIntent, reason: str, now: datetime) -> list[Change]:
    return [repair.flag_label_not_carriers(intent.leg, now, intent.reference, reason)]


def _log_kept(booking: PickupBooking, sharing: list[str]) -> None:
    logger.info(
        "pickup %s (%s) kept at the carrier: repairs %s still wait for it",
        booking.confirmation,
        booking.reference,
        ", ".join(sharing),
    )


def _must_look_up(adapter: CarrierAdapter, capability: Capability, booking: str) -> None:
    """A create attempted before is looked up before it is made again: an adapter that cannot look it up
    leaves it for a person rather than risk a second booking."""
    if capability not in adapter.capabilities:
        raise _Unverifiable(f"{adapter.name} cannot look {booking} up by reference")


def _describe(exc: CarrierError) -> str:
    """A carrier error as recorded on its intent and leg: its kind and the carrier's message."""
    return f"{type(exc).__name__}: {exc.message}"


def _log_retry(intent: BookingIntent, delay: timedelta, exc: CarrierError) -> None:
    seconds = delay.total_seconds()
    logger.warning("booking %s (%s) will be retried in %.1fs: %s", intent.reference, intent.operation, seconds, exc)


def _stale_pickup(repair: Repair, intent: BookingIntent) -> bool:
    """Whether a pickup intent is for a slot the repair's leg no longer has (a reschedule moved it on)."""
    leg = repair.leg(intent.leg)
    return leg is None or intent.reference != leg.pickup_reference


def _sweep_chained_pickup(shipment_intent: BookingIntent, now: datetime) -> BookingIntent:
    """Cancel, if the carrier has it, the round-1 pickup a taken-over shipment's first attempt may have
    chained: the pickup's reference follows from the shipment's, and its date is the shipment's date."""
    shipment = ShipmentRequest.model_validate(shipment_intent.request)
    reference = pickup_reference(shipment_intent.reference, 1)
    return new_intent(
        sweep_reference(reference),
        shipment_intent.repair_id,
        shipment_intent.leg,
        Operation.CANCEL_PICKUP_IF_BOOKED,
        shipment_intent.carrier,
        {"reference": reference, "date": shipment.ship_date.isoformat()},
        now,
    )


def _clear_failure(repair: Repair, intent: BookingIntent, now: datetime) -> list[Change]:
    return repair.clear_booking_failure(intent.leg, now, intent.reference, intent.operation)


def _flag_failure(repair: Repair, intent: BookingIntent, error: str, now: datetime) -> Change:
    return repair.flag_booking_failed(intent.leg, now, intent.reference, intent.operation, error)
