"""The ``Store`` port in memory: the same answers as the SQLite store, for service tests and nothing else.

It keeps what SQLite keeps, with the same rules: a transaction is a unit of work that one writer holds at a
time and that commits as a whole or not at all (its writes go to a copy of the tables that replaces them
only when the block ends normally); keys are unique (``AlreadyStored``), rows point at an existing repair;
history is append-only and numbered per repair; orders, filters, pages and cursors are the SQLite store's,
ties broken by insertion order as SQLite's row ids break them. Values are copied in and out (documents
through JSON, as SQLite stores them), so a caller that changes what it read changes nothing stored.

It keeps nothing across processes and has no disk: never a production store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from logistics.domain.journey import JourneyState, LegDirection
from logistics.domain.model import Change, Repair
from logistics.services.ports import (
    AlreadyStored,
    BookingIntent,
    FeedEntry,
    HistoryEntry,
    IdempotencyRecord,
    LabelLink,
    Notification,
    Page,
    RepairFilter,
    StoredCarrierEvent,
)
from logistics.storage.codec import dumps, instant, loads, page_cursor, parse_instant, parse_page_cursor

_TERMINAL = (JourneyState.DELIVERED, JourneyState.CANCELLED)
_CLOSED_LEG = ("delivered", "cancelled")


def _utc(value: datetime) -> datetime:
    """An instant as stored and read back: UTC, to the microsecond (and a naive one refused)."""
    return parse_instant(instant(value))


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _copy(value: Any) -> Any:
    """A JSON document as storage gives it back: a fresh copy, non-JSON values written as their ``str``."""
    return loads(dumps(value))


class MissingRepair(LookupError):
    """A row pointed at a repair that is not stored (SQLite's foreign keys refuse the same)."""


@dataclass(frozen=True)
class _RepairRow:
    doc: str
    case_id: str
    centre_id: str
    region_id: str | None
    state: JourneyState
    turnaround_status: str
    created_at: str
    updated_at: str
    origin: str | None

    @staticmethod
    def of(repair: Repair, origin: str | None) -> _RepairRow:
        return _RepairRow(
            doc=repair.model_dump_json(),
            case_id=repair.case_id,
            centre_id=repair.centre_id,
            region_id=repair.region_id,
            state=repair.state,
            turnaround_status=repair.turnaround_status,
            created_at=instant(repair.created_at),
            updated_at=instant(repair.updated_at),
            origin=origin,
        )

    def repair(self) -> Repair:
        return Repair.model_validate_json(self.doc)


@dataclass(frozen=True)
class _LegRow:
    order: int
    carrier: str
    booking_reference: str
    tracking_number: str | None
    status: str
    open: bool
    next_poll_at: str | None = None


@dataclass(frozen=True)
class _IntentRow:
    order: int
    intent: BookingIntent  # request and result held as copies

    def read(self) -> BookingIntent:
        i = self.intent
        return replace(i, request=_copy(i.request), result=_copy(i.result) if i.result is not None else None)


@dataclass(frozen=True)
class _AnswerRow:
    order: int
    created_at: str
    record: IdempotencyRecord


@dataclass(frozen=True)
class _NotificationRow:
    position: int
    notification: Notification
    delivered_at: datetime | None = None
    abandoned_at: datetime | None = None
    last_error: str | None = None

    def read(self) -> Notification:
        return replace(self.notification, payload=_copy(self.notification.payload))

    @property
    def waiting(self) -> bool:
        return self.delivered_at is None and self.abandoned_at is None


@dataclass
class _Tables:
    """Every table, as dicts of immutable rows: a shallow copy of each dict is a snapshot to write on."""

    repairs: dict[str, _RepairRow] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    legs: dict[tuple[str, LegDirection], _LegRow] = field(default_factory=dict)
    booking_references: dict[str, tuple[str, LegDirection]] = field(default_factory=dict)
    history: dict[str, tuple[HistoryEntry, ...]] = field(default_factory=dict)
    events: dict[tuple[str, str, str], StoredCarrierEvent] = field(default_factory=dict)
    intents: dict[str, _IntentRow] = field(default_factory=dict)
    carrier_labels: dict[tuple[str, LegDirection], tuple[str, bytes]] = field(default_factory=dict)
    label_links: dict[str, tuple[int, LabelLink]] = field(default_factory=dict)
    answers: dict[tuple[str, str], _AnswerRow] = field(default_factory=dict)
    notifications: dict[str, _NotificationRow] = field(default_factory=dict)
    notification_seqs: dict[tuple[str, int], str] = field(default_factory=dict)
    passes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (holder, leased until)
    counter: int = 0  # row ids: insertion order, which breaks ties as SQLite's rowid does

    def snapshot(self) -> _Tables:
        return _Tables(
            repairs=dict(self.repairs),
            origins=dict(self.origins),
            legs=dict(self.legs),
            booking_references=dict(self.booking_references),
            history=dict(self.history),
            events=dict(self.events),
            intents=dict(self.intents),
            carrier_labels=dict(self.carrier_labels),
            label_links=dict(self.label_links),
            answers=dict(self.answers),
            notifications=dict(self.notifications),
            notification_seqs=dict(self.notification_seqs),
            passes=dict(self.passes),
            counter=self.counter,
        )

    def next_order(self) -> int:
        self.counter += 1
        return self.counter


class MemoryReads:
    """Every read of the port, on the tables ``tables()`` gives: the committed ones, or a transaction's."""

    def __init__(self, tables: Callable[[], _Tables]) -> None:
        self._tables = tables

    async def get_repair(self, repair_id: str, centre_id: str | None = None) -> Repair | None:
        row = self._tables().repairs.get(repair_id)
        if row is None or (centre_id is not None and row.centre_id != centre_id):
            return None
        return row.repair()

    async def repair_by_origin(self, origin: str) -> Repair | None:
        t = self._tables()
        repair_id = t.origins.get(origin)
        return None if repair_id is None else t.repairs[repair_id].repair()

    async def list_repairs(self, flt: RepairFilter, limit: int, cursor: str | None) -> Page:
        t = self._tables()
        newest_first = flt.sort.startswith("-")
        column = {"created_at": "created_at", "updated_at": "updated_at"}[flt.sort.removeprefix("-")]
        after = parse_page_cursor(cursor) if cursor else None
        since = instant(flt.updated_since) if flt.updated_since is not None else None
        states = {state.value for state in flt.states}
        found: list[tuple[tuple[str, str], _RepairRow]] = []
        for repair_id, row in t.repairs.items():
            if (
                (flt.case_id is not None and row.case_id != flt.case_id)
                or (flt.centre_id is not None and row.centre_id != flt.centre_id)
                or (flt.region_id is not None and row.region_id != flt.region_id)
                or (states and row.state.value not in states)
                or (flt.turnaround_status and row.turnaround_status not in flt.turnaround_status)
                or (since is not None and row.updated_at < since)
                or (flt.dispatched is not None and ((repair_id, LegDirection.OUTBOUND) in t.legs) != flt.dispatched)
            ):
                continue
            key = (row.created_at if column == "created_at" else row.updated_at, repair_id)
            if after is not None and not (key < after if newest_first else key > after):
                continue
            found.append((key, row))
        found.sort(key=lambda pair: pair[0], reverse=newest_first)
        items = [row.repair() for _, row in found[:limit]]
        next_cursor = page_cursor(*found[limit - 1][0]) if len(found) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def history(self, repair_id: str) -> list[HistoryEntry]:
        return list(self._tables().history.get(repair_id, ()))

    async def carrier_events(self, repair_id: str) -> list[StoredCarrierEvent]:
        return (await self.carrier_events_of([repair_id])).get(repair_id, [])

    async def carrier_events_of(self, repair_ids: Sequence[str]) -> dict[str, list[StoredCarrierEvent]]:
        wanted = set(repair_ids)
        chosen = [e for e in self._tables().events.values() if e.repair_id in wanted]
        chosen.sort(key=lambda e: (e.repair_id, instant(e.occurred_at), instant(e.received_at), e.event_id))
        events: dict[str, list[StoredCarrierEvent]] = {}
        for event in chosen:
            events.setdefault(event.repair_id, []).append(event)
        return events

    async def get_repairs(self, repair_ids: Sequence[str]) -> dict[str, Repair]:
        rows = self._tables().repairs
        return {repair_id: rows[repair_id].repair() for repair_id in dict.fromkeys(repair_ids) if repair_id in rows}

    def _legs_numbered(
        self, tracking_number: str, carrier: str | None
    ) -> list[tuple[tuple[str, LegDirection], _LegRow]]:
        return [
            (key, leg)
            for key, leg in self._tables().legs.items()
            if leg.tracking_number == tracking_number and (carrier is None or leg.carrier == carrier)
        ]

    async def find_leg(self, carrier: str | None, tracking_number: str) -> tuple[str, LegDirection] | None:
        legs = self._legs_numbered(tracking_number, carrier)
        if not legs:
            return None
        key, _ = min(legs, key=lambda pair: (pair[1].carrier, pair[1].order))
        return key

    async def find_legs(self, carrier: str, numbers: Sequence[str]) -> dict[str, tuple[str, LegDirection]]:
        wanted = set(numbers)
        legs = sorted(
            ((key, leg) for key, leg in self._tables().legs.items() if leg.carrier == carrier),
            key=lambda pair: pair[1].order,
        )
        return {leg.tracking_number: key for key, leg in legs if leg.tracking_number in wanted}

    async def label_link(self, token_hash: str) -> LabelLink | None:
        found = self._tables().label_links.get(token_hash)
        return None if found is None else found[1]

    async def label_links_of(self, repair_id: str, leg: LegDirection) -> list[LabelLink]:
        links = [
            (order, link)
            for order, link in self._tables().label_links.values()
            if link.repair_id == repair_id and link.leg == leg
        ]
        links.sort(key=lambda pair: (instant(pair[1].created_at), pair[0]))
        return [link for _, link in links]

    async def carrier_label(self, repair_id: str, leg: LegDirection) -> tuple[str, bytes] | None:
        return self._tables().carrier_labels.get((repair_id, leg))

    async def idempotency(self, principal: str, key: str) -> IdempotencyRecord | None:
        row = self._tables().answers.get((principal, key))
        return None if row is None else row.record

    def _intents(self, keep: Callable[[BookingIntent], bool]) -> list[_IntentRow]:
        return [row for row in self._tables().intents.values() if keep(row.intent)]

    async def due_intents(self, now: datetime, limit: int) -> list[BookingIntent]:
        due = instant(now)
        rows = self._intents(lambda i: i.status == "pending" and instant(i.next_attempt_at) <= due)
        rows.sort(key=lambda row: (instant(row.intent.next_attempt_at), row.order))
        return [row.read() for row in rows[:limit]]

    async def intent(self, reference: str) -> BookingIntent | None:
        row = self._tables().intents.get(reference)
        return None if row is None else row.read()

    async def intents_for(self, repair_id: str) -> list[BookingIntent]:
        rows = self._intents(lambda i: i.repair_id == repair_id)
        return [row.read() for row in _by_creation(rows)]

    async def failed_intents(
        self, *, repair_id: str | None = None, carrier: str | None = None, limit: int = 1000
    ) -> list[BookingIntent]:
        rows = self._intents(
            lambda i: (
                i.status == "failed"
                and (repair_id is None or i.repair_id == repair_id)
                and (carrier is None or i.carrier == carrier)
            )
        )
        rows.sort(key=lambda row: (instant(row.intent.next_attempt_at), row.intent.reference))
        return [row.read() for row in rows[:limit]]

    async def pickup_holders(self, carrier: str, confirmation: str) -> list[BookingIntent]:
        rows = self._intents(
            lambda i: (
                i.operation == "schedule_pickup"
                and i.status == "done"
                and i.carrier == carrier
                and _pickup_confirmation(i.result) == confirmation
            )
        )
        return [row.read() for row in _by_creation(rows)]

    async def open_legs_to_poll(self, carrier: str, now: datetime, limit: int) -> list[tuple[str, LegDirection, str]]:
        due = instant(now)
        legs = [
            (key, leg)
            for key, leg in self._tables().legs.items()
            if leg.open
            and leg.carrier == carrier
            and leg.tracking_number is not None
            and (leg.next_poll_at is None or leg.next_poll_at <= due)
        ]
        # SQLite orders NULL first.
        legs.sort(key=lambda pair: (pair[1].next_poll_at is not None, pair[1].next_poll_at or "", pair[1].order))
        return [(repair_id, direction, str(leg.tracking_number)) for (repair_id, direction), leg in legs[:limit]]

    def _waiting(self, now: datetime) -> list[_NotificationRow]:
        due = instant(now)
        rows = [
            row
            for row in self._tables().notifications.values()
            if row.waiting and instant(row.notification.next_attempt_at) <= due
        ]
        rows.sort(key=lambda row: (row.notification.repair_id, row.notification.seq))
        return rows

    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        return [row.read() for row in self._waiting(now)[:limit]]

    async def outbox_depth(self) -> dict[str, int]:
        t = self._tables()
        return {
            "bookings": sum(1 for row in t.intents.values() if row.intent.status == "pending"),
            "notifications": sum(1 for row in t.notifications.values() if row.waiting),
        }

    async def repairs_in_progress(self, limit: int, after: str | None) -> list[Repair]:
        rows = self._tables().repairs
        ids = sorted(i for i, row in rows.items() if row.state not in _TERMINAL and i > (after or ""))
        return [rows[repair_id].repair() for repair_id in ids[:limit]]

    async def deliverable_notifications(self, now: datetime, limit: int) -> list[Notification]:
        due = instant(now)
        # An earlier notification of the same repair still waiting to be retried holds the later ones back.
        held_from: dict[str, int] = {}
        for row in self._tables().notifications.values():
            n = row.notification
            if row.waiting and instant(n.next_attempt_at) > due:
                held_from[n.repair_id] = min(held_from.get(n.repair_id, n.seq), n.seq)
        rows = [
            row
            for row in self._waiting(now)
            if row.notification.seq <= held_from.get(row.notification.repair_id, row.notification.seq)
        ]
        return [row.read() for row in rows[:limit]]

    async def notification_feed(self, after: int, limit: int) -> list[FeedEntry]:
        rows = sorted(
            (row for row in self._tables().notifications.values() if row.position > after),
            key=lambda row: row.position,
        )
        return [
            FeedEntry(
                position=row.position,
                notification=row.read(),
                delivered_at=row.delivered_at,
                abandoned_at=row.abandoned_at,
                last_error=row.last_error,
            )
            for row in rows[:limit]
        ]


def _by_creation(rows: Iterable[_IntentRow]) -> list[_IntentRow]:
    return sorted(
        rows, key=lambda row: (instant(row.intent.created_at or row.intent.next_attempt_at), row.intent.reference)
    )


def _pickup_confirmation(result: dict[str, Any] | None) -> Any:
    pickup = result.get("pickup") if isinstance(result, dict) else None
    return pickup.get("confirmation") if isinstance(pickup, dict) else None


class MemoryTransaction(MemoryReads):
    """Writes on a snapshot of the tables, which the store takes as its own only if the block ends normally."""

    def __init__(self, tables: _Tables) -> None:
        super().__init__(lambda: tables)
        self._t = tables

    def _require_repair(self, repair_id: str) -> None:
        if repair_id not in self._t.repairs:
            raise MissingRepair(f"no repair {repair_id!r} is stored")

    async def add_repair(self, repair: Repair, origin: str | None = None) -> None:
        if repair.id in self._t.repairs:
            raise AlreadyStored(f"repairs.id {repair.id!r} is taken")
        if origin is not None and origin in self._t.origins:
            raise AlreadyStored("repairs.origin is taken")
        self._t.repairs[repair.id] = _RepairRow.of(repair, origin)
        if origin is not None:
            self._t.origins[origin] = repair.id
        self._save_legs([repair])

    async def save_repair(self, repair: Repair) -> None:
        await self.save_repairs([repair])

    async def save_repairs(self, repairs: Sequence[Repair]) -> None:
        for repair in repairs:
            stored = self._t.repairs.get(repair.id)
            if stored is not None:  # an UPDATE: a repair not stored is not added
                self._t.repairs[repair.id] = _RepairRow.of(repair, stored.origin)
        self._save_legs(repairs)

    def _save_legs(self, repairs: Sequence[Repair]) -> None:
        for repair in repairs:
            closed = repair.state in _TERMINAL
            for leg in (repair.inbound, repair.outbound):
                if leg is None:
                    continue
                self._require_repair(repair.id)
                key = (repair.id, leg.direction)
                holder = self._t.booking_references.get(leg.booking_reference)
                if holder is not None and holder != key:
                    raise AlreadyStored(f"legs.booking_reference {leg.booking_reference!r} is taken")
                stored = self._t.legs.get(key)
                if stored is not None and stored.booking_reference != leg.booking_reference:
                    del self._t.booking_references[stored.booking_reference]
                self._t.booking_references[leg.booking_reference] = key
                self._t.legs[key] = _LegRow(
                    order=stored.order if stored is not None else self._t.next_order(),
                    carrier=leg.carrier,
                    booking_reference=leg.booking_reference,
                    tracking_number=leg.tracking_number,
                    status=leg.status.value,
                    open=not (closed or leg.status.value in _CLOSED_LEG),
                    next_poll_at=stored.next_poll_at if stored is not None else None,
                )

    async def append_histories(
        self, batches: Sequence[tuple[str, Sequence[Change]]], recorded_at: datetime
    ) -> dict[str, list[HistoryEntry]]:
        entries: dict[str, list[HistoryEntry]] = {}
        recorded = _utc(recorded_at)
        for repair_id, changes in batches:
            if not changes:
                continue
            self._require_repair(repair_id)
            kept = self._t.history.get(repair_id, ())
            new: list[HistoryEntry] = []
            for change in changes:
                seq = len(kept) + len(new) + 1
                stored = change.model_copy(
                    update={"occurred_at": _utc(change.occurred_at), "details": _copy(change.details)}
                )
                new.append(HistoryEntry(repair_id=repair_id, seq=seq, recorded_at=recorded, change=stored))
                entries.setdefault(repair_id, []).append(
                    HistoryEntry(repair_id=repair_id, seq=seq, recorded_at=recorded_at, change=change)
                )
            self._t.history[repair_id] = (*kept, *new)  # appended to, never changed
        return entries

    async def add_intent(self, intent: BookingIntent) -> None:
        if intent.reference in self._t.intents:
            raise AlreadyStored(f"booking_intents.reference {intent.reference!r} is taken")
        self._require_repair(intent.repair_id)
        stored = replace(
            intent,
            request=_copy(intent.request),
            result=_copy(intent.result) if intent.result is not None else None,
            next_attempt_at=_utc(intent.next_attempt_at),
            created_at=_utc(intent.created_at or intent.next_attempt_at),
            carrier_request=None,
        )
        self._t.intents[intent.reference] = _IntentRow(order=self._t.next_order(), intent=stored)

    async def claim_intent(self, reference: str, now: datetime, lease_until: datetime) -> BookingIntent | None:
        row = self._t.intents.get(reference)
        if row is None or row.intent.status != "pending" or instant(row.intent.next_attempt_at) > instant(now):
            return None
        leased = replace(row.intent, attempts=row.intent.attempts + 1, next_attempt_at=_utc(lease_until))
        self._t.intents[reference] = replace(row, intent=leased)
        return self._t.intents[reference].read()

    async def update_intent(
        self,
        reference: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime,
        last_error: str | None,
        result: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        row = self._t.intents.get(reference)
        if row is None:
            return
        changed = replace(
            row.intent,
            status=status,
            attempts=attempts,
            next_attempt_at=_utc(next_attempt_at),
            last_error=last_error,
            result=_copy(result) if result is not None else None,
        )
        self._t.intents[reference] = replace(row, intent=changed)

    async def save_carrier_label(self, repair_id: str, leg: LegDirection, content_type: str, data: bytes) -> None:
        self._require_repair(repair_id)
        self._t.carrier_labels[(repair_id, leg)] = (content_type, bytes(data))

    async def add_label_link(self, link: LabelLink) -> None:
        if link.token_hash in self._t.label_links:
            raise AlreadyStored("label_links.token_hash is taken")
        self._require_repair(link.repair_id)
        stored = replace(
            link,
            created_at=_utc(link.created_at),
            expires_at=_utc(link.expires_at),
            revoked_at=_maybe_utc(link.revoked_at),
        )
        self._t.label_links[link.token_hash] = (self._t.next_order(), stored)

    async def revoke_label_links(self, repair_id: str, now: datetime, leg: LegDirection | None = None) -> int:
        count = 0
        for token_hash, (order, link) in list(self._t.label_links.items()):
            if link.repair_id == repair_id and link.revoked_at is None and (leg is None or link.leg == leg):
                self._t.label_links[token_hash] = (order, replace(link, revoked_at=_utc(now)))
                count += 1
        return count

    async def claim_pass(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        held = self._t.passes.get(name)
        if held is not None and held[0] != holder and held[1] > instant(now):
            return False
        self._t.passes[name] = (holder, instant(until))
        return True

    async def forget_idempotency(self, before: datetime, limit: int) -> int:
        # The oldest ``limit`` answers by insertion, of which those stored before ``before`` (as SQLite does).
        oldest = sorted(self._t.answers.items(), key=lambda pair: pair[1].order)[:limit]
        cutoff = instant(before)
        gone = [key for key, row in oldest if row.created_at < cutoff]
        for key in gone:
            del self._t.answers[key]
        return len(gone)

    async def save_idempotency(self, record: IdempotencyRecord) -> None:
        key = (record.principal, record.key)
        stored = replace(
            record,
            locked_at=_utc(record.locked_at),
            response_body=bytes(record.response_body) if record.response_body is not None else None,
            response_seals=tuple(" ".join(record.response_seals).split()),
        )
        row = self._t.answers.get(key)
        if row is None:
            self._t.answers[key] = _AnswerRow(
                order=self._t.next_order(), created_at=instant(record.locked_at), record=stored
            )
        elif row.record.state != "done":  # a finished answer is never replaced
            self._t.answers[key] = replace(row, record=stored)

    async def add_notifications(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            if n.id in self._t.notifications:
                raise AlreadyStored(f"notifications.id {n.id!r} is taken")
            if (n.repair_id, n.seq) in self._t.notification_seqs:
                raise AlreadyStored(f"notifications ({n.repair_id!r}, {n.seq}) is taken")
            stored = replace(
                n,
                payload=_copy(n.payload),
                created_at=_utc(n.created_at),
                next_attempt_at=_utc(n.next_attempt_at),
                attempts=0,
                retry_from=None,
            )
            self._t.notifications[n.id] = _NotificationRow(position=self._t.next_order(), notification=stored)
            self._t.notification_seqs[(n.repair_id, n.seq)] = n.id

    async def next_notification_seqs(self, repair_ids: Sequence[str]) -> dict[str, int]:
        heads: dict[str, int] = {}
        wanted = set(repair_ids)
        for repair_id, seq in self._t.notification_seqs:
            if repair_id in wanted:
                heads[repair_id] = max(heads.get(repair_id, 0), seq)
        return {repair_id: heads.get(repair_id, 0) + 1 for repair_id in repair_ids}

    async def mark_notification(
        self,
        notification_id: str,
        *,
        delivered_at: datetime | None,
        attempts: int,
        next_attempt_at: datetime,
        last_error: str | None,
        abandoned: bool,
    ) -> None:
        row = self._t.notifications.get(notification_id)
        if row is None:
            return
        self._t.notifications[notification_id] = replace(
            row,
            notification=replace(row.notification, attempts=attempts, next_attempt_at=_utc(next_attempt_at)),
            delivered_at=_maybe_utc(delivered_at),
            abandoned_at=_utc(next_attempt_at) if abandoned else row.abandoned_at,
            last_error=last_error,
        )

    async def requeue_notifications(
        self, repair_id: str | None, since: datetime | None, until: datetime | None, now: datetime
    ) -> int:
        count = 0
        start = instant(since) if since else None
        end = instant(until) if until else None
        for notification_id, row in list(self._t.notifications.items()):
            n = row.notification
            queued = instant(n.created_at)
            if (
                (repair_id is not None and n.repair_id != repair_id)
                or (start is not None and queued < start)
                or (end is not None and queued >= end)
            ):
                continue
            again = replace(n, attempts=0, next_attempt_at=_utc(now), retry_from=_utc(now))
            self._t.notifications[notification_id] = _NotificationRow(position=row.position, notification=again)
            count += 1
        return count

    async def schedule_poll(
        self, repair_id: str, leg: LegDirection, next_poll_at: datetime | None, open_: bool
    ) -> None:
        stored = self._t.legs.get((repair_id, leg))
        if stored is not None:
            poll_at = instant(next_poll_at) if next_poll_at else None
            self._t.legs[(repair_id, leg)] = replace(stored, next_poll_at=poll_at, open=open_)

    async def add_carrier_events(self, events: Sequence[StoredCarrierEvent]) -> int:
        new = 0
        for e in events:
            key = (e.carrier, e.tracking_number, e.event_id)
            if key in self._t.events:
                continue
            self._t.events[key] = replace(e, occurred_at=_utc(e.occurred_at), received_at=_utc(e.received_at))
            new += 1
        return new


class MemoryStore:
    """The ``Store`` port in one process's memory (see the module docstring)."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._writer = asyncio.Lock()  # one unit of work at a time, as SQLite's single writer
        self._reads = MemoryReads(lambda: self._tables)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTransaction]:
        async with self._writer:
            work = self._tables.snapshot()
            yield MemoryTransaction(work)
            self._tables = work  # reached only when the block ended normally: the unit commits

    def reader(self) -> MemoryReads:
        return self._reads

    async def ping(self) -> None:
        return None

    async def writable(self) -> str | None:
        return None
