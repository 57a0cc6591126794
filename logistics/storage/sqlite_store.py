"""The SQLite implementation of the ``Store`` port: repositories as methods on a connection.

No business rules here: rows in, domain objects out.

The statements are written in the SQL both SQLite and PostgreSQL take (``ON CONFLICT`` upserts, a typed
``CAST(? AS TEXT) IS NULL`` for optional filters, ``NULLS FIRST`` where NULLs sort): the PostgreSQL store
(``logistics.storage.postgres``) runs these same classes, with its own connection beneath and the few
statements that differ (a JSON path, the feed's position, leases) of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiosqlite

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
from logistics.storage.codec import (
    document,
    dump_document,
    dumps,
    instant,
    load_document,
    loads,
    page_cursor,
    parse_instant,
    parse_page_cursor,
    read_repair,
)
from logistics.storage.database import Database, Unit

Fetch = Callable[[str, Sequence[Any]], Awaitable[Iterable[aiosqlite.Row]]]

# A repair's last history and notification sequence numbers, as columns of a query on ``repairs AS r``.
_HEADS = (
    "(SELECT max(seq) FROM history WHERE repair_id = r.id), (SELECT max(seq) FROM notifications WHERE repair_id = r.id)"
)
_TERMINAL = (JourneyState.DELIVERED.value, JourneyState.CANCELLED.value)


def _marks(values: Sequence[object]) -> str:
    """Placeholders for an IN list (callers keep lists well under SQLite's 32,766 parameters)."""
    return ",".join("?" * len(values))


def _notification(r: aiosqlite.Row) -> Notification:
    return Notification(
        id=r["id"],
        repair_id=r["repair_id"],
        seq=r["seq"],
        type=r["type"],
        payload=load_document(r["payload"]),
        created_at=parse_instant(r["created_at"]),
        attempts=r["attempts"],
        next_attempt_at=parse_instant(r["next_attempt_at"]),
        retry_from=parse_instant(r["retry_from"]) if r["retry_from"] else None,
    )


def _label_link(r: aiosqlite.Row) -> LabelLink:
    return LabelLink(
        token_hash=r["token_hash"],
        repair_id=r["repair_id"],
        leg=LegDirection(r["leg"]),
        created_at=parse_instant(r["created_at"]),
        expires_at=parse_instant(r["expires_at"]),
        revoked_at=parse_instant(r["revoked_at"]) if r["revoked_at"] else None,
    )


def _maybe_instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None


def _feed_entry(r: aiosqlite.Row, position: int) -> FeedEntry:
    return FeedEntry(
        position=position,
        notification=_notification(r),
        delivered_at=_maybe_instant(r["delivered_at"]),
        abandoned_at=_maybe_instant(r["abandoned_at"]),
        last_error=r["last_error"],
    )


class SqliteReads:
    """Read queries, run through ``fetch``: the reader connection's, or a write unit's (so a transaction
    reads what it wrote)."""

    # A done pickup's confirmation, read from its result's JSON (PostgreSQL's store says it its own way).
    _PICKUP_CONFIRMATION = "json_extract(result, '$.pickup.confirmation')"
    # How a document (a repair, a booking's request, a notification's payload) is written: deflated with the
    # codec's dictionary here; PostgreSQL keeps JSON text, which it compresses itself (TOAST).
    _document = staticmethod(document)
    _dump_document = staticmethod(dump_document)

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch

    # On the reader, each call is one hand-off to the connection's thread (execute and fetch together): on a
    # busy core every hand-off costs a thread switch, so a query that took three (execute, fetch, close) costs
    # three times more. In a write unit the query runs on the loop's thread (see ``Database``).
    async def _one(self, sql: str, params: Sequence[Any]) -> aiosqlite.Row | None:
        rows = await self._fetch(sql, params)
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Sequence[Any]) -> list[aiosqlite.Row]:
        return list(await self._fetch(sql, params))

    async def get_repair(self, repair_id: str, centre_id: str | None = None) -> Repair | None:
        if centre_id is None:
            row = await self._one("SELECT doc FROM repairs WHERE id = ?", (repair_id,))
        else:
            # One query for an unknown id and another centre's alike: neither is found, with the same work.
            row = await self._one("SELECT doc FROM repairs WHERE id = ? AND centre_id = ?", (repair_id, centre_id))
        return None if row is None else read_repair(row[0])

    async def repair_by_origin(self, origin: str) -> Repair | None:
        row = await self._one("SELECT doc FROM repairs WHERE origin = ?", (origin,))
        return None if row is None else read_repair(row[0])

    async def list_repairs(self, flt: RepairFilter, limit: int, cursor: str | None) -> Page:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("case_id", flt.case_id),
            ("centre_id", flt.centre_id),
            ("region_id", flt.region_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if flt.states:
            where.append(f"state IN ({','.join('?' * len(flt.states))})")
            params.extend(state.value for state in flt.states)
        if flt.dispatched is not None:
            outbound = "EXISTS (SELECT 1 FROM legs WHERE legs.repair_id = repairs.id AND legs.direction = 'outbound')"
            where.append(outbound if flt.dispatched else f"NOT {outbound}")
        if flt.turnaround_status:
            where.append(f"turnaround_status IN ({','.join('?' * len(flt.turnaround_status))})")
            params.extend(flt.turnaround_status)
        if flt.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(instant(flt.updated_since))
        newest_first = flt.sort.startswith("-")
        column = {"created_at": "created_at", "updated_at": "updated_at"}[flt.sort.removeprefix("-")]
        if cursor:
            value, repair_id = parse_page_cursor(cursor)
            where.append(f"({column}, id) {'<' if newest_first else '>'} (?, ?)")
            params.extend((value, repair_id))
        sql = f"SELECT doc, {column}, id FROM repairs"  # noqa: S608 - a column name from the mapping above
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY {column} {order}, id {order} LIMIT ?"
        rows = await self._all(sql, [*params, limit + 1])
        items = [read_repair(r[0]) for r in rows[:limit]]
        next_cursor = page_cursor(rows[limit - 1][1], rows[limit - 1][2]) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def history(self, repair_id: str) -> list[HistoryEntry]:
        rows = await self._all(
            "SELECT seq, kind, occurred_at, recorded_at, actor, source, leg, from_state, to_state, status, details"
            " FROM history WHERE repair_id = ? ORDER BY seq",
            (repair_id,),
        )
        return [
            HistoryEntry(
                repair_id=repair_id,
                seq=r["seq"],
                recorded_at=parse_instant(r["recorded_at"]),
                change=Change(
                    kind=r["kind"],
                    occurred_at=parse_instant(r["occurred_at"]),
                    actor=r["actor"],
                    source=r["source"],
                    leg=r["leg"],
                    from_state=r["from_state"],
                    to_state=r["to_state"],
                    status=r["status"],
                    details=loads(r["details"]),
                ),
            )
            for r in rows
        ]

    async def carrier_events(self, repair_id: str) -> list[StoredCarrierEvent]:
        return (await self.carrier_events_of([repair_id])).get(repair_id, [])

    async def carrier_events_of(self, repair_ids: Sequence[str]) -> dict[str, list[StoredCarrierEvent]]:
        if not repair_ids:
            return {}  # PostgreSQL refuses an empty IN list
        rows = await self._all(
            f"SELECT * FROM carrier_events WHERE repair_id IN ({_marks(repair_ids)})"  # noqa: S608 - placeholders only
            " ORDER BY repair_id, occurred_at, received_at, event_id",
            repair_ids,
        )
        events: dict[str, list[StoredCarrierEvent]] = {}
        for r in rows:
            events.setdefault(r["repair_id"], []).append(
                StoredCarrierEvent(
                    carrier=r["carrier"],
                    tracking_number=r["tracking_number"],
                    event_id=r["event_id"],
                    repair_id=r["repair_id"],
                    leg=LegDirection(r["leg"]),
                    occurred_at=parse_instant(r["occurred_at"]),
                    status=r["status"],
                    raw_code=r["raw_code"],
                    raw_description=r["raw_description"],
                    location=r["location"],
                    received_at=parse_instant(r["received_at"]),
                    via=r["via"],
                )
            )
        return events

    async def get_repairs(self, repair_ids: Sequence[str]) -> dict[str, Repair]:
        if not repair_ids:
            return {}
        rows = await self._all(
            f"SELECT doc FROM repairs WHERE id IN ({_marks(repair_ids)})",  # noqa: S608 - placeholders only
            repair_ids,
        )
        repairs = (read_repair(r[0]) for r in rows)
        return {repair.id: repair for repair in repairs}

    async def find_leg(self, carrier: str | None, tracking_number: str) -> tuple[str, LegDirection] | None:
        if carrier is None:
            row = await self._one("SELECT repair_id, direction FROM legs WHERE tracking_number = ?", (tracking_number,))
        else:
            row = await self._one(
                "SELECT repair_id, direction FROM legs WHERE carrier = ? AND tracking_number = ?",
                (carrier, tracking_number),
            )
        return None if row is None else (row[0], LegDirection(row[1]))

    async def find_legs(self, carrier: str, numbers: Sequence[str]) -> dict[str, tuple[str, LegDirection]]:
        if not numbers:
            return {}
        sql = f"SELECT tracking_number, repair_id, direction FROM legs WHERE carrier = ? AND tracking_number IN ({_marks(numbers)})"  # noqa: S608, E501 - placeholders only
        rows = await self._all(sql, [carrier, *numbers])
        return {r[0]: (r[1], LegDirection(r[2])) for r in rows}

    async def label_link(self, token_hash: str) -> LabelLink | None:
        r = await self._one("SELECT * FROM label_links WHERE token_hash = ?", (token_hash,))
        return None if r is None else _label_link(r)

    async def label_links_of(self, repair_id: str, leg: LegDirection) -> list[LabelLink]:
        rows = await self._all(
            "SELECT * FROM label_links WHERE repair_id = ? AND leg = ? ORDER BY created_at", (repair_id, leg.value)
        )
        return [_label_link(r) for r in rows]

    async def carrier_label(self, repair_id: str, leg: LegDirection) -> tuple[str, bytes] | None:
        r = await self._one(
            "SELECT content_type, data FROM carrier_labels WHERE repair_id = ? AND leg = ?",
            (repair_id, leg.value),
        )
        return None if r is None else (r[0], bytes(r[1]))

    async def idempotency(self, principal: str, key: str) -> IdempotencyRecord | None:
        r = await self._one("SELECT * FROM idempotency_keys WHERE principal = ? AND key = ?", (principal, key))
        if r is None:
            return None
        return IdempotencyRecord(
            principal=r["principal"],
            key=r["key"],
            method=r["method"],
            path=r["path"],
            body_hash=r["body_hash"],
            state=r["state"],
            response_status=r["response_status"],
            response_body=bytes(r["response_body"]) if r["response_body"] is not None else None,
            response_type=r["response_type"],
            locked_at=parse_instant(r["locked_at"]),
            response_location=r["response_location"],
            response_seals=tuple(r["response_seals"].split()) if r["response_seals"] else (),
        )

    def _intent(self, r: aiosqlite.Row) -> BookingIntent:
        return BookingIntent(
            reference=r["reference"],
            repair_id=r["repair_id"],
            leg=LegDirection(r["leg"]),
            operation=r["operation"],
            carrier=r["carrier"],
            request=load_document(r["request"]),
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=parse_instant(r["next_attempt_at"]),
            last_error=r["last_error"],
            result=load_document(r["result"]) if r["result"] else None,
            created_at=parse_instant(r["created_at"]),
        )

    async def due_intents(self, now: datetime, limit: int) -> list[BookingIntent]:
        rows = await self._all(
            "SELECT * FROM booking_intents WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?",
            (instant(now), limit),
        )
        return [self._intent(r) for r in rows]

    async def intent(self, reference: str) -> BookingIntent | None:
        r = await self._one("SELECT * FROM booking_intents WHERE reference = ?", (reference,))
        return None if r is None else self._intent(r)

    async def intents_for(self, repair_id: str) -> list[BookingIntent]:
        rows = await self._all(
            "SELECT * FROM booking_intents WHERE repair_id = ? ORDER BY created_at, reference", (repair_id,)
        )
        return [self._intent(r) for r in rows]

    async def failed_intents(
        self, *, repair_id: str | None = None, carrier: str | None = None, limit: int = 1000
    ) -> list[BookingIntent]:
        # Uses booking_intents_due (status first): failed intents are few, whatever the table's size.
        rows = await self._all(
            "SELECT * FROM booking_intents WHERE status = 'failed'"
            " AND (CAST(? AS TEXT) IS NULL OR repair_id = ?) AND (CAST(? AS TEXT) IS NULL OR carrier = ?)"
            " ORDER BY next_attempt_at, reference LIMIT ?",
            (repair_id, repair_id, carrier, carrier, limit),
        )
        return [self._intent(r) for r in rows]

    async def pickup_holders(self, carrier: str, confirmation: str) -> list[BookingIntent]:
        # Rare (a cancel or a reschedule), so a scan of the carrier's done pickups is cheap enough here.
        rows = await self._all(
            "SELECT * FROM booking_intents WHERE operation = 'schedule_pickup' AND status = 'done'"  # noqa: S608
            f" AND carrier = ? AND {self._PICKUP_CONFIRMATION} = ? ORDER BY created_at, reference",
            (carrier, confirmation),
        )
        return [self._intent(r) for r in rows]

    async def open_legs_to_poll(self, carrier: str, now: datetime, limit: int) -> list[tuple[str, LegDirection, str]]:
        rows = await self._all(
            "SELECT repair_id, direction, tracking_number FROM legs WHERE open = 1 AND carrier = ?"
            " AND tracking_number IS NOT NULL AND (next_poll_at IS NULL OR next_poll_at <= ?)"
            " ORDER BY next_poll_at NULLS FIRST LIMIT ?",
            (carrier, instant(now), limit),
        )
        return [(r[0], LegDirection(r[1]), r[2]) for r in rows]

    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        rows = await self._all(
            "SELECT * FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL"
            " AND next_attempt_at <= ? ORDER BY repair_id, seq LIMIT ?",
            (instant(now), limit),
        )
        return [_notification(r) for r in rows]

    async def outbox_depth(self) -> dict[str, int]:
        bookings = await self._one("SELECT count(*) FROM booking_intents WHERE status = 'pending'", ())
        notes = await self._one(
            "SELECT count(*) FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL", ()
        )
        return {
            "bookings": int(bookings[0]) if bookings else 0,
            "notifications": int(notes[0]) if notes else 0,
        }

    async def repairs_in_progress(self, limit: int, after: str | None) -> list[Repair]:
        rows = await self._all(
            "SELECT doc FROM repairs WHERE state NOT IN (?, ?) AND id > ? ORDER BY id LIMIT ?",
            (*_TERMINAL, after or "", limit),
        )
        return [read_repair(r[0]) for r in rows]

    async def deliverable_notifications(self, now: datetime, limit: int) -> list[Notification]:
        rows = await self._all(
            "SELECT * FROM notifications AS n WHERE n.delivered_at IS NULL AND n.abandoned_at IS NULL"
            " AND n.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM notifications AS p"
            " WHERE p.repair_id = n.repair_id AND p.seq < n.seq AND p.delivered_at IS NULL"
            " AND p.abandoned_at IS NULL AND p.next_attempt_at > ?) ORDER BY n.repair_id, n.seq LIMIT ?",
            (instant(now), instant(now), limit),
        )
        return [_notification(r) for r in rows]

    async def notification_feed(self, after: int, limit: int) -> list[FeedEntry]:
        rows = await self._all(
            "SELECT rowid AS position, * FROM notifications WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit)
        )
        return [_feed_entry(r, int(r["position"])) for r in rows]


class SqliteTransaction(SqliteReads):
    """Writes within one unit of work on the writer connection (see ``Database.write``).

    Statements run at once on the event loop's thread (see ``Database``); an error (a broken constraint)
    raises where it happens and undoes the whole unit.

    The last history and notification sequence numbers of the repairs it touches ("heads") are read once,
    with the repair itself where it can be, and kept for the transaction: it holds the only writer, so
    nobody else appends meanwhile.
    """

    def __init__(self, unit: Unit) -> None:
        super().__init__(unit.execute_fetchall)
        self._unit = unit
        self._heads: dict[str, list[int]] = {}  # repair id -> [last history seq, last notification seq]

    async def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._unit.defer_many(sql, rows)

    async def _exec(self, sql: str, params: Sequence[Any]) -> None:
        self._unit.defer(sql, params)

    async def _count(self, sql: str, params: Sequence[Any]) -> int:
        """A write whose row count decides what comes next."""
        return await self._unit.execute(sql, params)

    async def _count_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return await self._unit.execute_many(sql, rows)

    async def get_repair(self, repair_id: str, centre_id: str | None = None) -> Repair | None:
        row = await self._one(
            f"SELECT doc, {_HEADS}, centre_id FROM repairs AS r WHERE id = ?",  # noqa: S608 - a fixed fragment
            (repair_id,),
        )
        if row is None or (centre_id is not None and row[3] != centre_id):
            return None
        self._heads[repair_id] = [int(row[1] or 0), int(row[2] or 0)]
        return read_repair(row[0])

    async def get_repairs(self, repair_ids: Sequence[str]) -> dict[str, Repair]:
        if not repair_ids:
            return {}
        rows = await self._all(
            f"SELECT doc, id, {_HEADS} FROM repairs AS r WHERE id IN ({_marks(repair_ids)})",  # noqa: S608
            repair_ids,
        )
        for r in rows:
            self._heads[r[1]] = [int(r[2] or 0), int(r[3] or 0)]
        repairs = (read_repair(r[0]) for r in rows)
        return {repair.id: repair for repair in repairs}

    async def _load_heads(self, ids: Sequence[str]) -> dict[str, list[int]]:
        missing = [repair_id for repair_id in ids if repair_id not in self._heads]
        if missing:
            rows = await self._all(
                f"SELECT id, {_HEADS} FROM repairs AS r WHERE id IN ({_marks(missing)})",  # noqa: S608
                missing,
            )
            for r in rows:
                self._heads[r[0]] = [int(r[1] or 0), int(r[2] or 0)]
            for repair_id in missing:
                self._heads.setdefault(repair_id, [0, 0])
        return self._heads

    async def add_repair(self, repair: Repair, origin: str | None = None) -> None:
        await self._exec(
            "INSERT INTO repairs (id, case_id, centre_id, region_id, state, turnaround_status, created_at,"
            " updated_at, doc, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                repair.id,
                repair.case_id,
                repair.centre_id,
                repair.region_id,
                repair.state.value,
                repair.turnaround_status,
                instant(repair.created_at),
                instant(repair.updated_at),
                self._document(repair.model_dump_json()),
                origin,
            ),
        )
        self._heads[repair.id] = [0, 0]  # a new repair has no history yet
        await self._save_legs([repair])

    async def save_repair(self, repair: Repair) -> None:
        await self.save_repairs([repair])

    async def save_repairs(self, repairs: Sequence[Repair]) -> None:
        await self._many(
            "UPDATE repairs SET state = ?, turnaround_status = ?, updated_at = ?, doc = ? WHERE id = ?",
            [
                (r.state.value, r.turnaround_status, instant(r.updated_at), self._document(r.model_dump_json()), r.id)
                for r in repairs
            ],
        )
        await self._save_legs(repairs)

    async def _save_legs(self, repairs: Sequence[Repair]) -> None:
        rows = []
        for repair in repairs:
            closed = repair.state.value in _TERMINAL
            for leg in (repair.inbound, repair.outbound):
                if leg is None:
                    continue
                leg_open = 0 if closed or leg.status.value in ("delivered", "cancelled") else 1
                rows.append(
                    (
                        repair.id,
                        leg.direction.value,
                        leg.carrier,
                        leg.booking_reference,
                        leg.tracking_number,
                        leg.status.value,
                        leg_open,
                    )
                )
        await self._many(
            "INSERT INTO legs (repair_id, direction, carrier, booking_reference, tracking_number, status, open)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repair_id, direction) DO UPDATE SET"
            " carrier = excluded.carrier, booking_reference = excluded.booking_reference,"
            " tracking_number = excluded.tracking_number, status = excluded.status, open = excluded.open",
            rows,
        )

    async def append_histories(
        self, batches: Sequence[tuple[str, Sequence[Change]]], recorded_at: datetime
    ) -> dict[str, list[HistoryEntry]]:
        ids = sorted({repair_id for repair_id, changes in batches if changes})
        if not ids:
            return {}
        heads = await self._load_heads(ids)
        entries: dict[str, list[HistoryEntry]] = {}
        rows = []
        for repair_id, changes in batches:
            for change in changes:
                heads[repair_id][0] = seq = heads[repair_id][0] + 1
                rows.append(
                    (
                        repair_id,
                        seq,
                        change.kind,
                        instant(change.occurred_at),
                        instant(recorded_at),
                        change.actor.value,
                        change.source,
                        change.leg.value if change.leg else None,
                        change.from_state.value if change.from_state else None,
                        change.to_state.value if change.to_state else None,
                        change.status.value if change.status else None,
                        dumps(change.details),
                    )
                )
                entry = HistoryEntry(repair_id=repair_id, seq=seq, recorded_at=recorded_at, change=change)
                entries.setdefault(repair_id, []).append(entry)
        await self._many(
            "INSERT INTO history (repair_id, seq, kind, occurred_at, recorded_at, actor, source, leg,"
            " from_state, to_state, status, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return entries

    async def add_intent(self, intent: BookingIntent) -> None:
        await self._exec(
            "INSERT INTO booking_intents (reference, repair_id, leg, operation, carrier, request, status, attempts,"
            " next_attempt_at, last_error, result, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                intent.reference,
                intent.repair_id,
                intent.leg.value,
                intent.operation,
                intent.carrier,
                self._dump_document(intent.request),
                intent.status,
                intent.attempts,
                instant(intent.next_attempt_at),
                intent.last_error,
                dumps(intent.result) if intent.result is not None else None,
                instant(intent.created_at or intent.next_attempt_at),
                instant(intent.created_at or intent.next_attempt_at),
            ),
        )

    async def claim_intent(self, reference: str, now: datetime, lease_until: datetime) -> BookingIntent | None:
        count = await self._count(
            "UPDATE booking_intents SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?"
            " WHERE reference = ? AND status = 'pending' AND next_attempt_at <= ?",
            (instant(lease_until), instant(now), reference, instant(now)),
        )
        return await self.intent(reference) if count == 1 else None

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
        await self._exec(
            "UPDATE booking_intents SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
            " result = ?, updated_at = ? WHERE reference = ?",
            (
                status,
                attempts,
                instant(next_attempt_at),
                last_error,
                dumps(result) if result is not None else None,
                instant(now),
                reference,
            ),
        )

    async def save_carrier_label(self, repair_id: str, leg: LegDirection, content_type: str, data: bytes) -> None:
        await self._exec(
            "INSERT INTO carrier_labels (repair_id, leg, content_type, data) VALUES (?, ?, ?, ?) ON CONFLICT"
            " (repair_id, leg) DO UPDATE SET content_type = excluded.content_type, data = excluded.data",
            (repair_id, leg.value, content_type, data),
        )

    async def add_label_link(self, link: LabelLink) -> None:
        await self._exec(
            "INSERT INTO label_links (token_hash, repair_id, leg, created_at, expires_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                link.token_hash,
                link.repair_id,
                link.leg.value,
                instant(link.created_at),
                instant(link.expires_at),
                instant(link.revoked_at) if link.revoked_at is not None else None,
            ),
        )

    async def revoke_label_links(self, repair_id: str, now: datetime, leg: LegDirection | None = None) -> int:
        return await self._count(
            "UPDATE label_links SET revoked_at = ? WHERE repair_id = ? AND revoked_at IS NULL"
            " AND (CAST(? AS TEXT) IS NULL OR leg = ?)",
            (instant(now), repair_id, leg.value if leg else None, leg.value if leg else None),
        )

    async def forget_idempotency(self, before: datetime, limit: int) -> int:
        # Rows are inserted in time order, so the oldest are the first by rowid: only the first ``limit``
        # rows are read, whatever the size of the table (no index on age to write with every answer).
        return await self._count(
            "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM"
            " (SELECT rowid, created_at FROM idempotency_keys ORDER BY rowid LIMIT ?) WHERE created_at < ?)",
            (limit, instant(before)),
        )

    async def claim_pass(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        taken = await self._count(
            "INSERT INTO periodic_passes (name, holder, leased_until) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until"
            " WHERE periodic_passes.holder = excluded.holder OR periodic_passes.leased_until <= ?",
            (name, holder, instant(until), instant(now)),
        )
        return taken == 1

    async def save_idempotency(self, record: IdempotencyRecord) -> None:
        await self._exec(
            "INSERT INTO idempotency_keys (principal, key, method, path, body_hash, state, response_status,"
            " response_body, response_type, response_location, response_seals, created_at, locked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (principal, key) DO UPDATE SET method = excluded.method, path = excluded.path,"
            " body_hash = excluded.body_hash, state = excluded.state, response_status = excluded.response_status,"
            " response_body = excluded.response_body, response_type = excluded.response_type,"
            " response_location = excluded.response_location, response_seals = excluded.response_seals,"
            " locked_at = excluded.locked_at"
            " WHERE idempotency_keys.state <> 'done'",
            (
                record.principal,
                record.key,
                record.method,
                record.path,
                record.body_hash,
                record.state,
                record.response_status,
                record.response_body,
                record.response_type,
                record.response_location,
                " ".join(record.response_seals) or None,
                instant(record.locked_at),
                instant(record.locked_at),
            ),
        )

    async def add_notifications(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            head = self._heads.get(n.repair_id)
            if head is not None:
                head[1] = max(head[1], n.seq)
        await self._many(
            "INSERT INTO notifications (id, repair_id, seq, type, payload, created_at, next_attempt_at, attempts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            [
                (
                    n.id,
                    n.repair_id,
                    n.seq,
                    n.type,
                    self._dump_document(n.payload),
                    instant(n.created_at),
                    instant(n.next_attempt_at),
                )
                for n in notifications
            ],
        )

    async def next_notification_seqs(self, repair_ids: Sequence[str]) -> dict[str, int]:
        heads = await self._load_heads(repair_ids) if repair_ids else {}
        return {repair_id: heads[repair_id][1] + 1 for repair_id in repair_ids}

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
        await self._exec(
            "UPDATE notifications SET delivered_at = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
            " abandoned_at = CASE WHEN ? = 1 THEN ? ELSE abandoned_at END WHERE id = ?",
            (
                instant(delivered_at) if delivered_at else None,
                attempts,
                instant(next_attempt_at),
                last_error,
                1 if abandoned else 0,
                instant(next_attempt_at),
                notification_id,
            ),
        )

    async def requeue_notifications(
        self, repair_id: str | None, since: datetime | None, until: datetime | None, now: datetime
    ) -> int:
        return await self._count(
            "UPDATE notifications SET delivered_at = NULL, abandoned_at = NULL, attempts = 0, last_error = NULL,"
            " next_attempt_at = ?, retry_from = ? WHERE (CAST(? AS TEXT) IS NULL OR repair_id = ?)"
            " AND (CAST(? AS TEXT) IS NULL OR created_at >= ?) AND (CAST(? AS TEXT) IS NULL OR created_at < ?)",
            (
                instant(now),
                instant(now),
                repair_id,
                repair_id,
                instant(since) if since else None,
                instant(since) if since else None,
                instant(until) if until else None,
                instant(until) if until else None,
            ),
        )

    async def schedule_poll(
        self, repair_id: str, leg: LegDirection, next_poll_at: datetime | None, open_: bool
    ) -> None:
        await self._exec(
            "UPDATE legs SET next_poll_at = ?, open = ? WHERE repair_id = ? AND direction = ?",
            (instant(next_poll_at) if next_poll_at else None, 1 if open_ else 0, repair_id, leg.value),
        )

    async def add_carrier_events(self, events: Sequence[StoredCarrierEvent]) -> int:
        rows = [
            (
                e.carrier,
                e.tracking_number,
                e.event_id,
                e.repair_id,
                e.leg.value,
                instant(e.occurred_at),
                e.status,
                e.raw_code,
                e.raw_description,
                e.location,
                instant(e.received_at),
                e.via,
            )
            for e in events
        ]
        return await self._count_many(
            "INSERT INTO carrier_events (carrier, tracking_number, event_id, repair_id, leg, occurred_at, status,"
            " raw_code, raw_description, location, received_at, via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )


class SqliteStore:
    """The ``Store`` port on one SQLite database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._reads = SqliteReads(database.reader_connection.execute_fetchall)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        try:
            async with self._db.write() as conn:
                yield SqliteTransaction(conn)
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
                raise AlreadyStored(str(exc)) from exc
            raise

    def reader(self) -> SqliteReads:
        return self._reads

    @property
    def database(self) -> Database:
        return self._db

    async def ping(self) -> None:
        await self._db.ping()

    async def writable(self) -> str | None:
        try:
            await self._db.probe_disk()
        except OSError as exc:
            return f"the database's folder refuses a new file: {exc.strerror or exc}"
        if self._db.failure is not None:
            # The last write failed for the storage's sake; the disk takes a file again: a real write clears it.
            try:
                await self._db.probe_write()
            except Exception:  # still failing: report the failure the writes met
                return self._db.failure or "the last write failed"
        return None
