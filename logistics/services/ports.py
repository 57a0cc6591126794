"""The ports the services depend on. ``logistics.storage`` implements them on SQLite; another store
(PostgreSQL for several instances) implements the same protocols without touching the services.

A ``Transaction`` is a unit of work: everything written through it commits together when the block ends
normally and rolls back otherwise. Reads outside a transaction go through ``Store.reader()``.

The port is split by what it stores: the repair aggregate (``RepairQueries``, ``RepairWrites``), the two
outboxes (``OutboxQueries``, ``OutboxWrites``) and the answers kept for replays (``AnswerQueries``,
``AnswerWrites``). ``RepairReads`` and ``Transaction`` combine them; a store implements those, and a part
of the service that needs less can ask for less. ``logistics.storage.memory_store`` implements the same
port in memory, for service tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import JsonValue

from carriers import PickupRequest, ShipmentRequest
from logistics.domain.journey import JourneyState, LegDirection
from logistics.domain.model import Change, Repair


class AlreadyStored(Exception):
    """A transaction inserted a row whose key exists already (the store says which in the message); the
    whole transaction was rolled back."""


@dataclass(frozen=True)
class HistoryEntry:
    repair_id: str
    seq: int
    recorded_at: datetime
    change: Change


@dataclass(frozen=True)
class StoredCarrierEvent:
    carrier: str
    tracking_number: str
    event_id: str
    repair_id: str
    leg: LegDirection
    occurred_at: datetime
    status: str
    raw_code: str
    raw_description: str
    location: str | None
    received_at: datetime
    via: str


@dataclass(frozen=True)
class BookingIntent:
    """A carrier call we have promised to make, recorded before it is made."""

    reference: str
    repair_id: str
    leg: LegDirection
    operation: str  # schedule_pickup | create_shipment | cancel_pickup | void_shipment
    carrier: str
    request: dict[str, JsonValue]
    status: str  # pending | done | failed
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    result: dict[str, JsonValue] | None
    created_at: datetime | None = None
    carrier_request: ShipmentRequest | PickupRequest | None = field(default=None, compare=False, repr=False)
    """``request`` as the carrier model it was made from, when it was made in this process (never stored)."""


@dataclass(frozen=True)
class LabelLink:
    token_hash: str
    repair_id: str
    leg: LegDirection
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IdempotencyRecord:
    principal: str
    key: str
    method: str
    path: str
    body_hash: str
    state: str  # done, or refused (bound to its request, not replayed); in_progress only from older releases
    response_status: int | None
    response_body: bytes | None
    response_type: str | None
    locked_at: datetime
    response_location: str | None = None  # the answer's Location header, given again with it
    response_seals: tuple[str, ...] = ()  # what was sealed in the body (label tokens' hashes), to open on replay


@dataclass(frozen=True)
class Notification:
    id: str
    repair_id: str
    seq: int
    type: str
    payload: dict[str, JsonValue]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    retry_from: datetime | None = None  # set when an operator asked for a redelivery; else created_at counts

    @property
    def retrying_since(self) -> datetime:
        return self.retry_from or self.created_at


@dataclass(frozen=True)
class FeedEntry:
    """A notification as the feed shows it: its place in the feed and where its delivery stands."""

    position: int  # increases with every notification queued, across repairs
    notification: Notification
    delivered_at: datetime | None
    abandoned_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class RepairFilter:
    case_id: str | None = None
    states: Sequence[JourneyState] = ()
    centre_id: str | None = None
    turnaround_status: Sequence[str] = ()
    region_id: str | None = None
    # True: only repairs whose centre has dispatched them (they have an outbound leg); False: only the others.
    dispatched: bool | None = None
    updated_since: datetime | None = None  # only repairs changed at or after this instant
    sort: str = "created_at"  # created_at or updated_at; a leading "-" for the newest first


@dataclass(frozen=True)
class Page:
    items: list[Repair]
    next_cursor: str | None


class RepairQueries(Protocol):
    """Reads of the repair aggregate: the repair and its legs, history, carrier events and labels."""

    async def get_repair(self, repair_id: str, centre_id: str | None = None) -> Repair | None:
        """The repair; with ``centre_id``, only if routed to that centre (else None, as for an unknown id)."""

    async def repair_by_origin(self, origin: str) -> Repair | None:
        """The repair created under ``origin`` (a digest of the caller and its Idempotency-Key), if any."""

    async def list_repairs(self, flt: RepairFilter, limit: int, cursor: str | None) -> Page: ...
    async def history(self, repair_id: str) -> list[HistoryEntry]: ...
    async def carrier_events(self, repair_id: str) -> list[StoredCarrierEvent]: ...
    async def find_leg(self, carrier: str | None, tracking_number: str) -> tuple[str, LegDirection] | None: ...
    async def find_legs(self, carrier: str, numbers: Sequence[str]) -> dict[str, tuple[str, LegDirection]]: ...
    async def get_repairs(self, repair_ids: Sequence[str]) -> dict[str, Repair]: ...
    async def carrier_events_of(self, repair_ids: Sequence[str]) -> dict[str, list[StoredCarrierEvent]]: ...
    async def label_link(self, token_hash: str) -> LabelLink | None: ...
    async def label_links_of(self, repair_id: str, leg: LegDirection) -> list[LabelLink]: ...
    async def carrier_label(self, repair_id: str, leg: LegDirection) -> tuple[str, bytes] | None: ...
    async def open_legs_to_poll(
        self, carrier: str, now: datetime, limit: int
    ) -> list[tuple[str, LegDirection, str]]: ...
    async def repairs_in_progress(self, limit: int, after: str | None) -> list[Repair]: ...


class OutboxQueries(Protocol):
    """Reads of the two outboxes: carrier calls promised (booking intents) and notifications to deliver."""

    async def due_intents(self, now: datetime, limit: int) -> list[BookingIntent]: ...
    async def intent(self, reference: str) -> BookingIntent | None: ...
    async def intents_for(self, repair_id: str) -> list[BookingIntent]: ...
    async def failed_intents(
        self, *, repair_id: str | None = None, carrier: str | None = None, limit: int = 1000
    ) -> list[BookingIntent]:
        """Intents that failed for good, oldest first, of one repair or one carrier or all."""

    async def pickup_holders(self, carrier: str, confirmation: str) -> list[BookingIntent]:
        """The done pickup bookings the carrier confirmed under ``confirmation`` (a shared UPS PRN, say)."""

    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]: ...
    async def outbox_depth(self) -> dict[str, int]: ...
    async def deliverable_notifications(self, now: datetime, limit: int) -> list[Notification]:
        """Due notifications whose repair has no earlier one still waiting: delivery stays in order per repair."""

    async def notification_feed(self, after: int, limit: int) -> list[FeedEntry]:
        """Notifications queued after position ``after``, across repairs, in the order they were queued."""


class AnswerQueries(Protocol):
    """Reads of the answers kept for ``Idempotency-Key`` replays."""

    async def idempotency(self, principal: str, key: str) -> IdempotencyRecord | None: ...


class RepairReads(RepairQueries, OutboxQueries, AnswerQueries, Protocol):
    """Every read a store answers (``Store.reader()``, and a transaction's own reads)."""


class RepairWrites(Protocol):
    """Writes of the repair aggregate."""

    async def add_repair(self, repair: Repair, origin: str | None = None) -> None:
        """Insert a new repair; ``AlreadyStored`` if its id, or its origin when given, is taken."""

    async def save_repair(self, repair: Repair) -> None: ...
    async def save_repairs(self, repairs: Sequence[Repair]) -> None: ...
    async def append_histories(
        self, batches: Sequence[tuple[str, Sequence[Change]]], recorded_at: datetime
    ) -> dict[str, list[HistoryEntry]]: ...
    async def save_carrier_label(self, repair_id: str, leg: LegDirection, content_type: str, data: bytes) -> None: ...
    async def add_label_link(self, link: LabelLink) -> None: ...
    async def revoke_label_links(self, repair_id: str, now: datetime, leg: LegDirection | None = None) -> int:
        """Revoke the repair's live label links (of one leg when given); returns how many."""

    async def schedule_poll(
        self, repair_id: str, leg: LegDirection, next_poll_at: datetime | None, open_: bool
    ) -> None: ...
    async def add_carrier_events(self, events: Sequence[StoredCarrierEvent]) -> int:
        """Store many carrier events at once, skipping those already stored; returns how many were new."""


class OutboxWrites(Protocol):
    """Writes of the two outboxes."""

    async def add_notifications(self, notifications: Sequence[Notification]) -> None: ...
    async def next_notification_seqs(self, repair_ids: Sequence[str]) -> dict[str, int]: ...
    async def add_intent(self, intent: BookingIntent) -> None: ...
    async def claim_intent(self, reference: str, now: datetime, lease_until: datetime) -> BookingIntent | None:
        """Lease a pending, due intent for one attempt (counting it); None if not pending, not due, or held."""

    async def update_intent(
        self,
        reference: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime,
        last_error: str | None,
        result: dict[str, JsonValue] | None,
        now: datetime,
    ) -> None: ...
    async def mark_notification(
        self,
        notification_id: str,
        *,
        delivered_at: datetime | None,
        attempts: int,
        next_attempt_at: datetime,
        last_error: str | None,
        abandoned: bool,
    ) -> None: ...
    async def requeue_notifications(
        self, repair_id: str | None, since: datetime | None, until: datetime | None, now: datetime
    ) -> int:
        """Queue again, due now and retried from now, every notification of ``repair_id`` (any when None)
        queued in [since, until); delivered and abandoned ones included. Returns how many."""


class AnswerWrites(Protocol):
    """Writes of the answers kept for ``Idempotency-Key`` replays."""

    async def save_idempotency(self, record: IdempotencyRecord) -> None:
        """Store the answer given under a key (replacing an unfinished record an older release left)."""

    async def forget_idempotency(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest answers stored before ``before``; returns how many."""


class PassWrites(Protocol):
    """Claims of the periodic passes over the whole store (turnaround clocks, housekeeping), so that one
    instance of several sharing a store runs each pass (see ``logistics.services.passes``)."""

    async def claim_pass(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take pass ``name`` for ``holder`` until ``until``, unless another holder's claim runs past ``now``;
        True when taken (a holder renews its own claim at any time)."""


class Transaction(RepairReads, RepairWrites, OutboxWrites, AnswerWrites, PassWrites, Protocol):
    """One unit of work over every aggregate: what a store implements."""


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    def reader(self) -> RepairReads: ...
    async def ping(self) -> None: ...
    async def writable(self) -> str | None:
        """None when the store takes writes now; otherwise why not (a full disk, a read-only file)."""


@runtime_checkable
class SharedKeys(Protocol):
    """A store that several processes share holds an ``Idempotency-Key`` for the request running under it,
    so that a duplicate arriving at another process waits for that request's answer instead of running too.
    (A store that one process owns has no need: the process holds its keys itself.)"""

    async def claim_idempotency(
        self, principal: str, key: str, method: str, path: str, body_hash: str, now: datetime, until: datetime
    ) -> bool:
        """Hold the key for the caller until ``until``, or until its answer is stored; False while another
        holds it or an answer is stored (read it with ``idempotency``). A key whose holder let its hold run out,
        or whose stored refusal binds it to this same request, is taken."""

    async def store_idempotency(self, record: IdempotencyRecord) -> None:
        """Store a request's answer (``Transaction.save_idempotency``) as one statement of its own, which ends
        the key's hold: what a transaction around it would cost in round trips is saved."""

    async def renew_idempotency(self, principal: str, key: str, until: datetime, new_until: datetime) -> bool:
        """Extend a hold taken until ``until`` to ``new_until`` while its request runs; False if it is no longer
        held (answered, or taken over after it ran out)."""

    async def release_idempotency(self, principal: str, key: str, until: datetime, now: datetime) -> None:
        """Give up a hold taken until ``until`` whose request stored no answer (a 5xx): the next one may run."""
