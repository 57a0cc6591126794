"""Versioned schema migrations for both stores, from one list, applied in order at start.

Each entry is one version with its SQLite form and its PostgreSQL form: the same tables, columns and
indexes, in each database's own words (``BYTEA`` for ``BLOB``, a PL/pgSQL trigger for SQLite's ``RAISE``).
Instants stay ISO-8601 text and documents JSON text in both, so the same codec (``codec.py``) and the same
queries serve both stores. SQLite records the last version applied in ``PRAGMA user_version``, PostgreSQL
in the table ``schema_version``.

PostgreSQL's forms carry what several instances sharing one database need and SQLite (one process) does
not: the notification feed's position as a column (SQLite uses the rowid), a notification's delivery lease
(``leased_until``), and an index on the age of stored answers (SQLite deletes them by rowid).

A migration is never edited once released: a change to the schema is a new entry at the end, with both forms.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    sqlite: str
    postgres: str


# Migration 1 in neutral words; each store's form fills in its own parts.
_V1 = """
        CREATE TABLE repairs (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            centre_id TEXT NOT NULL,
            region_id TEXT,
            state TEXT NOT NULL,
            turnaround_status TEXT NOT NULL DEFAULT 'on_track',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            doc TEXT NOT NULL
        );
        CREATE INDEX repairs_by_case ON repairs(case_id, created_at, id);
        CREATE INDEX repairs_by_centre ON repairs(centre_id, state, created_at, id);
        CREATE INDEX repairs_by_created ON repairs(created_at, id);

        CREATE TABLE legs (
            repair_id TEXT NOT NULL REFERENCES repairs(id),
            direction TEXT NOT NULL,
            carrier TEXT NOT NULL,
            booking_reference TEXT NOT NULL UNIQUE,
            tracking_number TEXT,
            status TEXT NOT NULL,
            open INTEGER NOT NULL DEFAULT 1,
            next_poll_at TEXT,
            PRIMARY KEY (repair_id, direction)
        );
        CREATE INDEX legs_by_tracking ON legs(carrier, tracking_number);
        CREATE INDEX legs_by_tracking_only ON legs(tracking_number);
        CREATE INDEX legs_to_poll ON legs(open, carrier, next_poll_at);

        CREATE TABLE history (
            repair_id TEXT NOT NULL REFERENCES repairs(id),
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            leg TEXT,
            from_state TEXT,
            to_state TEXT,
            status TEXT,
            details TEXT NOT NULL,
            PRIMARY KEY (repair_id, seq)
        );
        {history_is_append_only}

        CREATE TABLE carrier_events (
            carrier TEXT NOT NULL,
            tracking_number TEXT NOT NULL,
            event_id TEXT NOT NULL,
            repair_id TEXT NOT NULL,
            leg TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            status TEXT NOT NULL,
            raw_code TEXT NOT NULL,
            raw_description TEXT NOT NULL,
            location TEXT,
            received_at TEXT NOT NULL,
            via TEXT NOT NULL,
            PRIMARY KEY (carrier, tracking_number, event_id)
        );
        CREATE INDEX carrier_events_by_repair ON carrier_events(repair_id, occurred_at);

        CREATE TABLE booking_intents (
            reference TEXT PRIMARY KEY,
            repair_id TEXT NOT NULL REFERENCES repairs(id),
            leg TEXT NOT NULL,
            operation TEXT NOT NULL,
            carrier TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            result TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX booking_intents_due ON booking_intents(status, next_attempt_at);

        CREATE TABLE carrier_labels (
            repair_id TEXT NOT NULL REFERENCES repairs(id),
            leg TEXT NOT NULL,
            content_type TEXT NOT NULL,
            data {binary} NOT NULL,
            PRIMARY KEY (repair_id, leg)
        );

        CREATE TABLE label_links (
            token_hash TEXT PRIMARY KEY,
            repair_id TEXT NOT NULL REFERENCES repairs(id),
            leg TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX label_links_by_repair ON label_links(repair_id);

        CREATE TABLE idempotency_keys (
            principal TEXT NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            body_hash TEXT NOT NULL,
            state TEXT NOT NULL,
            response_status INTEGER,
            response_body {binary},
            response_type TEXT,
            created_at TEXT NOT NULL,
            locked_at TEXT NOT NULL,
            PRIMARY KEY (principal, key)
        );{idempotency_indexes}

        CREATE TABLE notifications (
            id TEXT PRIMARY KEY,
            repair_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            delivered_at TEXT,
            abandoned_at TEXT,
            last_error TEXT,{notification_columns}
            UNIQUE (repair_id, seq)
        );
        CREATE INDEX notifications_due ON notifications(delivered_at, abandoned_at, next_attempt_at);
"""
_V1_SQLITE = _V1.format(
    binary="BLOB",
    history_is_append_only="""CREATE TRIGGER history_is_append_only_update BEFORE UPDATE ON history
            BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
        CREATE TRIGGER history_is_append_only_delete BEFORE DELETE ON history
            BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;""",
    notification_columns="",
    idempotency_indexes="",
)
_V1_POSTGRES = _V1.format(
    binary="BYTEA",
    history_is_append_only="""CREATE FUNCTION history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'history is append-only' USING ERRCODE = 'restrict_violation'; END $$;
        CREATE TRIGGER history_is_append_only BEFORE UPDATE OR DELETE ON history
            FOR EACH ROW EXECUTE FUNCTION history_is_append_only();
        CREATE TRIGGER history_is_append_only_truncate BEFORE TRUNCATE ON history
            FOR EACH STATEMENT EXECUTE FUNCTION history_is_append_only();""",
    notification_columns="""
            feed_position BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            leased_until TEXT,""",
    idempotency_indexes="""
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);""",
)


# The columns holding documents and carriers' images, which are the values large enough to be compressed.
_COMPRESSED_COLUMNS = (
    ("repairs", "doc"),
    ("history", "details"),
    ("booking_intents", "request"),
    ("booking_intents", "result"),
    ("notifications", "payload"),
    ("idempotency_keys", "response_body"),
    ("carrier_labels", "data"),
)
_LZ4_DOCUMENTS = (
    "DO $$ BEGIN\n"
    + "".join(
        f"    ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4;\n" for table, column in _COMPRESSED_COLUMNS
    )
    + "EXCEPTION WHEN feature_not_supported THEN\n"
    + "    RAISE WARNING 'this PostgreSQL server has no lz4: stored documents keep pglz compression';\n"
    + "END $$;"
)


def _same(sql: str) -> Migration:
    """A migration whose statements both databases take as they are."""
    return Migration(sqlite=sql, postgres=sql)


MIGRATIONS: tuple[Migration, ...] = (
    # 1: the journey, its history, carrier events, booking intents, label links, idempotency, notifications.
    Migration(sqlite=_V1_SQLITE, postgres=_V1_POSTGRES),
    # 2: answers kept for Idempotency-Key replays keep their Location header, and hold a customer's label
    # token only as its hash, the hashes sealed listed beside (see logistics.services.label_links). Answers
    # kept with a token in clear are dropped: a retry under their key finds its repair or its dispatch again
    # by the key and answers with a new link. Legs are found by tracking number through one index, with or
    # without the carrier, instead of two (one index fewer to write when a leg gets its number).
    Migration(
        sqlite="""
        ALTER TABLE idempotency_keys ADD COLUMN response_location TEXT;
        ALTER TABLE idempotency_keys ADD COLUMN response_seals TEXT;
        DELETE FROM idempotency_keys
        WHERE instr(CAST(response_body AS TEXT), '/v1/labels/') > 0
          AND instr(CAST(response_body AS TEXT), '/v1/labels/sealed-') = 0;
        DROP INDEX legs_by_tracking;
        DROP INDEX legs_by_tracking_only;
        CREATE INDEX legs_by_tracking ON legs(tracking_number, carrier);
        """,
        postgres="""
        ALTER TABLE idempotency_keys ADD COLUMN response_location TEXT;
        ALTER TABLE idempotency_keys ADD COLUMN response_seals TEXT;
        DELETE FROM idempotency_keys
        WHERE strpos(encode(response_body, 'escape'), '/v1/labels/') > 0
          AND strpos(encode(response_body, 'escape'), '/v1/labels/sealed-') = 0;
        DROP INDEX legs_by_tracking;
        DROP INDEX legs_by_tracking_only;
        CREATE INDEX legs_by_tracking ON legs(tracking_number, carrier);
        """,
    ),
    # 3: a repair created under an Idempotency-Key is found again by its origin (a digest of the caller and
    # the key) instead of by an id derived from the key, so that ids can follow time (see
    # logistics.services.repairs.new_repair_id). Repairs made before kept the digest as their id's tail:
    # it becomes their origin, and a request sent again under its old key still finds its repair.
    _same(
        """
        ALTER TABLE repairs ADD COLUMN origin TEXT;
        UPDATE repairs SET origin = substr(id, 4) WHERE substr(id, 1, 3) = 'rp_';
        CREATE UNIQUE INDEX repairs_by_origin ON repairs(origin);
        """
    ),
    # 4: a notification an operator asked to deliver again retries for the full period from that request
    # (``retry_from``), not from when it was first queued, or it would be abandoned at its first failure.
    # The case system lists the repairs changed since its last look, by ``updated_at``.
    _same(
        """
        ALTER TABLE notifications ADD COLUMN retry_from TEXT;
        CREATE INDEX repairs_by_updated ON repairs(updated_at, id);
        """
    ),
    # 5: PostgreSQL compresses a value that makes its row larger than about 2 KB (a repair's document, a
    # stored answer) with pglz unless told otherwise; lz4 does the same job for a fraction of the server's CPU,
    # and the server's CPU is what every instance shares. Values already stored keep their compression and
    # read as before; a server built without lz4 keeps pglz (said in its log). SQLite stores these documents
    # deflated by the codec (``codec.py``) and has nothing to change.
    Migration(sqlite="", postgres=_LZ4_DOCUMENTS),
    # 6: the periodic passes over the whole store (turnaround clocks, housekeeping) are claimed for their
    # period by one instance at a time (see logistics.services.passes): the holder and how long its claim runs.
    _same(
        """
        CREATE TABLE periodic_passes (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            leased_until TEXT NOT NULL
        );
        """
    ),
)
