"""The ``Store`` port on PostgreSQL, for any number of instances sharing one database.

The repositories' queries are the SQLite store's (``SqliteReads``, ``SqliteTransaction``), written in SQL
both databases take; here are the connection beneath them and what several processes sharing a database
need beyond one process's single writer:

- Transactions run at READ COMMITTED. The invariants a transaction relies on are held by row locks: a
  repair read in a transaction is locked (``FOR UPDATE``, several in id order) before its document and its
  last history and notification numbers are read, so two instances changing one repair take turns, each
  seeing the other's committed change, and history stays gap-free and append-only (a trigger refuses
  UPDATE, DELETE and TRUNCATE on it). Nothing then fails with a serialisation error; a deadlock (two
  transactions locking repairs one by one in opposite orders) is refused as ``StorageUnavailable`` with
  nothing written, and the units the store runs itself (the claims below) are run again from the start.
- Outbox work is claimed with row leases and ``FOR UPDATE SKIP LOCKED``: a booking intent by
  ``claim_intent`` (the attempt's lease), due notifications by ``deliverable_notifications`` and tracked
  legs by ``open_legs_to_poll``, each leased for ``lease``. A claim skips rows another instance is claiming
  at that moment and rows whose lease still runs; a dead instance's claims are taken over once the lease
  ends. Notifications of one repair are claimed only when no earlier one of that repair is waiting or
  leased, claims of notifications taking turns (a transaction-scoped advisory lock), so that they are
  delivered in order whichever instance delivers them; a failed delivery releases the later ones it held.
- The periodic passes over the whole store (turnaround clocks, housekeeping) are claimed per pass for a
  period (``claim_pass``, the SQLite store's statement): a claim another instance holds, or is taking at that
  moment, is refused once that one commits, so that one instance runs each pass.
- A transaction that queued work (a booking intent, a notification) sends ``NOTIFY logistics_work`` as it
  commits, so that the workers of every instance wake at once instead of at their next poll.
- Each statement is a round trip, which costs CPU in the service and in the server: the NOTIFY travels
  with the COMMIT, several rows of one plain INSERT go as one statement, and a request's stored answer
  (``store_idempotency``) is one statement without a transaction around it.

It must not hold business rules: rows in, domain objects out, as the SQLite store.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from logistics.domain.journey import LegDirection
from logistics.domain.model import Repair
from logistics.services.ports import AlreadyStored, BookingIntent, FeedEntry, IdempotencyRecord, Notification
from logistics.storage.codec import dumps, instant
from logistics.storage.postgres.engine import RETRYABLE, Engine, postgres_sql, rows_affected, sqlstate, unavailable
from logistics.storage.sqlite_store import SqliteReads, SqliteTransaction, _feed_entry, _notification

WORK_CHANNEL = "logistics_work"
"""NOTIFY channel: its payload names the outbox that has new work (``bookings``, ``notifications``)."""
COVERAGE_CHANNEL = "logistics_coverage"
"""NOTIFY channel: an instance reloaded its coverage file (the payload says which instance); the others do too."""
NOTIFICATION_CLAIMS = 0x6E6F7469  # the advisory lock that makes claims of notifications take turns ("noti")


# An INSERT whose only placeholders are its one VALUES row (no ON CONFLICT: a row met twice in one
# statement would be refused there, where separate executions apply it twice).
_PLAIN_INSERT = re.compile(r"(INSERT INTO [^()?]+\([^()?]*\) VALUES )(\([^()]*\))")
_MAX_ROWS = 64


@functools.lru_cache(maxsize=64)
def _rows_insert(sql: str, size: int) -> str:
    """``sql`` (a plain INSERT, see ``_PLAIN_INSERT``) inserting ``size`` rows, numbered for PostgreSQL."""
    match = _PLAIN_INSERT.fullmatch(sql)
    assert match is not None
    return postgres_sql(match.group(1) + ", ".join([match.group(2)] * size))


def _commit(woken: set[str]) -> str:
    """The COMMIT of a transaction, preceded by the NOTIFY that wakes the workers when it queued work."""
    if not woken:
        return "COMMIT"
    payload = " ".join(sorted(woken)).replace("'", "''")
    return f"NOTIFY {WORK_CHANNEL}, '{payload}'; COMMIT"


def _fetcher(conn: asyncpg.Connection) -> Callable[[str, Sequence[Any]], Any]:
    async def fetch(sql: str, params: Sequence[Any]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(postgres_sql(sql), *params)
        return rows

    return fetch


def _as_text(json_text: str | bytes) -> str | bytes:
    return json_text


class _PostgresQueries(SqliteReads):
    """The read queries whose PostgreSQL form differs from SQLite's: a JSON path, the feed's position."""

    _PICKUP_CONFIRMATION = "(result::jsonb #>> '{pickup,confirmation}')"
    # Documents stay JSON text: PostgreSQL compresses large values itself (TOAST), and the columns are TEXT.
    _document = staticmethod(_as_text)
    _dump_document = staticmethod(dumps)

    async def notification_feed(self, after: int, limit: int) -> list[FeedEntry]:
        rows = await self._all(
            "SELECT * FROM notifications WHERE feed_position > ? ORDER BY feed_position LIMIT ?", (after, limit)
        )
        return [_feed_entry(r, int(r["feed_position"])) for r in rows]


class PostgresReads(_PostgresQueries):
    """Reads on connections of the pool, one at a time; the outbox's reads claim what they return."""

    def __init__(self, engine: Engine, lease: timedelta) -> None:
        super().__init__(engine.fetch)
        self._engine = engine
        self._lease = lease

    async def deliverable_notifications(self, now: datetime, limit: int) -> list[Notification]:
        """Due notifications whose repair has no earlier one waiting or leased, leased to the caller."""
        at, until = instant(now), instant(now + self._lease)

        async def claim(conn: asyncpg.Connection) -> list[asyncpg.Record]:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", NOTIFICATION_CLAIMS)
            rows: list[asyncpg.Record] = await conn.fetch(
                "WITH due AS (SELECT n.id FROM notifications AS n WHERE n.delivered_at IS NULL"
                " AND n.abandoned_at IS NULL AND n.next_attempt_at <= $1"
                " AND (n.leased_until IS NULL OR n.leased_until <= $1)"
                " AND NOT EXISTS (SELECT 1 FROM notifications AS p WHERE p.repair_id = n.repair_id"
                " AND p.seq < n.seq AND p.delivered_at IS NULL AND p.abandoned_at IS NULL"
                " AND (p.next_attempt_at > $1 OR p.leased_until > $1))"
                " ORDER BY n.repair_id, n.seq LIMIT $3 FOR UPDATE OF n SKIP LOCKED)"
                " UPDATE notifications SET leased_until = $2 FROM due WHERE notifications.id = due.id"
                " RETURNING notifications.*",
                at,
                until,
                limit,
            )
            return rows

        rows = await self._engine.in_transaction(claim)
        return sorted((_notification(r) for r in rows), key=lambda n: (n.repair_id, n.seq))

    async def open_legs_to_poll(self, carrier: str, now: datetime, limit: int) -> list[tuple[str, LegDirection, str]]:
        """Open legs of ``carrier`` due a poll, leased to the caller: their next poll moves to the lease's end
        (the poller sets the real one once it has polled)."""
        at, until = instant(now), instant(now + self._lease)

        async def claim(conn: asyncpg.Connection) -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = await conn.fetch(
                "WITH due AS (SELECT repair_id, direction, next_poll_at FROM legs WHERE open = 1 AND carrier = $1"
                " AND tracking_number IS NOT NULL AND (next_poll_at IS NULL OR next_poll_at <= $2)"
                " ORDER BY next_poll_at NULLS FIRST LIMIT $4 FOR UPDATE SKIP LOCKED)"
                " UPDATE legs SET next_poll_at = $3 FROM due"
                " WHERE legs.repair_id = due.repair_id AND legs.direction = due.direction"
                " RETURNING legs.repair_id, legs.direction, legs.tracking_number, due.next_poll_at AS was",
                carrier,
                at,
                until,
                limit,
            )
            return rows

        rows = await self._engine.in_transaction(claim)
        rows.sort(key=lambda r: (r["was"] is not None, r["was"] or ""))
        return [(r[0], LegDirection(r[1]), r[2]) for r in rows]


class PostgresTransaction(_PostgresQueries, SqliteTransaction):
    """Writes within one transaction on one connection of the pool (see the module docstring for locks)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        # Not SqliteTransaction's constructor: that one takes SQLite's writer unit, this one a connection.
        SqliteReads.__init__(self, _fetcher(conn))
        self._conn = conn
        self._heads: dict[str, list[int]] = {}
        self.woken: set[str] = set()  # outboxes given new work, told to every instance at the COMMIT

    async def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if len(rows) == 1 or _PLAIN_INSERT.fullmatch(sql) is None:
            await self._conn.executemany(postgres_sql(sql), rows)
            return
        # A plain INSERT of several rows: one statement of several VALUES rows per chunk, rather than one
        # execution per row. Chunks of 64, 32, ... 1 rows keep the statement texts (prepared once each) few.
        start = 0
        while start < len(rows):
            size = min(_MAX_ROWS, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start : start + size]
            await self._conn.execute(_rows_insert(sql, size), *(value for row in chunk for value in row))
            start += size

    async def _exec(self, sql: str, params: Sequence[Any]) -> None:
        await self._conn.execute(postgres_sql(sql), *params)

    async def _count(self, sql: str, params: Sequence[Any]) -> int:
        return rows_affected(await self._conn.execute(postgres_sql(sql), *params))

    async def _count_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        statement = postgres_sql(sql)
        return sum([rows_affected(await self._conn.execute(statement, *row)) for row in rows])

    async def _lock(self, repair_ids: Sequence[str]) -> None:
        """Lock the repairs' rows, in id order, until the transaction ends: their readers after this one see
        every change committed before, and other instances' transactions on them wait for this one."""
        await self._conn.execute(
            "SELECT 1 FROM repairs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", sorted(set(repair_ids))
        )

    async def get_repair(self, repair_id: str, centre_id: str | None = None) -> Repair | None:
        if repair_id not in self._heads:
            await self._lock([repair_id])
        return await super().get_repair(repair_id, centre_id)

    async def get_repairs(self, repair_ids: Sequence[str]) -> dict[str, Repair]:
        await self._lock([repair_id for repair_id in repair_ids if repair_id not in self._heads])
        return await super().get_repairs(repair_ids)

    async def _load_heads(self, ids: Sequence[str]) -> dict[str, list[int]]:
        missing = [repair_id for repair_id in ids if repair_id not in self._heads]
        if missing:
            await self._lock(missing)
        return await super()._load_heads(ids)

    async def add_intent(self, intent: BookingIntent) -> None:
        await super().add_intent(intent)
        self.woken.add("bookings")

    async def add_notifications(self, notifications: Sequence[Notification]) -> None:
        await super().add_notifications(notifications)
        if notifications:
            self.woken.add("notifications")

    async def requeue_notifications(
        self, repair_id: str | None, since: datetime | None, until: datetime | None, now: datetime
    ) -> int:
        count = await super().requeue_notifications(repair_id, since, until, now)
        if count:
            self.woken.add("notifications")
        return count

    async def claim_intent(self, reference: str, now: datetime, lease_until: datetime) -> BookingIntent | None:
        # An intent another instance is claiming at this moment is skipped, not waited for: it is theirs.
        row = await self._conn.fetchrow(
            "UPDATE booking_intents SET attempts = attempts + 1, next_attempt_at = $1, updated_at = $2"
            " WHERE reference = (SELECT reference FROM booking_intents WHERE reference = $3"
            " AND status = 'pending' AND next_attempt_at <= $2 FOR UPDATE SKIP LOCKED) RETURNING *",
            instant(lease_until),
            instant(now),
            reference,
        )
        return None if row is None else self._intent(row)

    async def mark_notification(self, notification_id: str, **outcome: Any) -> None:
        await super().mark_notification(notification_id, **outcome)
        # Its lease ends with its outcome; one not delivered also releases the repair's later notifications
        # claimed with it, which were not attempted after it (they wait for it, and are free once it is over).
        later = "" if outcome["delivered_at"] is not None else " OR (n.repair_id = m.repair_id AND n.seq > m.seq)"
        await self._conn.execute(
            "UPDATE notifications AS n SET leased_until = NULL FROM notifications AS m"  # noqa: S608 - fixed text
            f" WHERE m.id = $1 AND n.leased_until IS NOT NULL AND (n.id = m.id{later})",
            notification_id,
        )

    async def forget_idempotency(self, before: datetime, limit: int) -> int:
        return await self._count(
            "DELETE FROM idempotency_keys WHERE (principal, key) IN (SELECT principal, key FROM idempotency_keys"
            " WHERE created_at < ? ORDER BY created_at LIMIT ?)",
            (instant(before), limit),
        )


class PostgresStore:
    """The ``Store`` port on one PostgreSQL database (see the module docstring)."""

    def __init__(self, engine: Engine, *, lease: timedelta = timedelta(minutes=2)) -> None:
        self._engine = engine
        self._reads = PostgresReads(engine, lease)

    @property
    def engine(self) -> Engine:
        return self._engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        try:
            async with self._engine.connection() as conn:
                await conn.execute("BEGIN")
                tx = PostgresTransaction(conn)
                try:
                    yield tx
                except BaseException:
                    # Nothing of it is written; a connection that cannot even roll back is ended by the pool.
                    if conn.is_in_transaction() and not conn.is_closed():
                        with contextlib.suppress(Exception):
                            await conn.execute("ROLLBACK")
                    raise
                # The wake-up rides with the COMMIT in one round trip (one simple query of two statements,
                # still inside the transaction: it is sent only if the COMMIT succeeds).
                await conn.execute(_commit(tx.woken))
        except asyncpg.UniqueViolationError as exc:
            raise AlreadyStored(str(exc)) from exc
        except asyncpg.PostgresError as exc:
            if sqlstate(exc) in RETRYABLE:
                # A deadlock with another instance's transaction, rolled back: nothing of this one was written.
                raise unavailable(exc) from exc
            raise

    def reader(self) -> PostgresReads:
        return self._reads

    async def claim_idempotency(
        self, principal: str, key: str, method: str, path: str, body_hash: str, now: datetime, until: datetime
    ) -> bool:
        # The row of the answer-to-be, state in_progress, its lease's end in locked_at. A duplicate meets the
        # primary key and takes the row only if its hold ran out or it holds a refusal of the same request.
        rows = await self._engine.fetch(
            "INSERT INTO idempotency_keys (principal, key, method, path, body_hash, state, created_at, locked_at)"
            " VALUES (?, ?, ?, ?, ?, 'in_progress', ?, ?) ON CONFLICT (principal, key) DO UPDATE"
            " SET state = 'in_progress', locked_at = excluded.locked_at"
            " WHERE idempotency_keys.body_hash = excluded.body_hash AND (idempotency_keys.state = 'refused'"
            " OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_at <= excluded.created_at))"
            " RETURNING 1",
            (principal, key, method, path, body_hash, instant(now), instant(until)),
        )
        return bool(rows)

    async def store_idempotency(self, record: IdempotencyRecord) -> None:
        # One statement, its own transaction: no BEGIN and COMMIT round trips around it.
        async with self._engine.connection() as conn:
            await PostgresTransaction(conn).save_idempotency(record)

    async def renew_idempotency(self, principal: str, key: str, until: datetime, new_until: datetime) -> bool:
        rows = await self._engine.fetch(
            "UPDATE idempotency_keys SET locked_at = ? WHERE principal = ? AND key = ? AND state = 'in_progress'"
            " AND locked_at = ? RETURNING 1",
            (instant(new_until), principal, key, instant(until)),
        )
        return bool(rows)

    async def release_idempotency(self, principal: str, key: str, until: datetime, now: datetime) -> None:
        await self._engine.fetch(
            "UPDATE idempotency_keys SET locked_at = ? WHERE principal = ? AND key = ? AND state = 'in_progress'"
            " AND locked_at = ?",
            (instant(now), principal, key, instant(until)),
        )

    async def ping(self) -> None:
        await self._engine.ping()

    async def writable(self) -> str | None:
        try:
            rows = await self._engine.fetch(
                "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
            )
        except Exception as exc:  # the reason goes to /health
            return f"the database cannot be reached: {exc}"
        if rows[0][0]:
            return "the database takes no writes (a read-only server or a standby)"
        return None
