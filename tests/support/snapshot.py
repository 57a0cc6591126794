"""A digest of everything the service stored, to prove that a refused request changed nothing.

On the store the running test's services use: the SQLite file at ``path``, or the PostgreSQL database
that ``database_under_test`` names (read through ``psql``, each table in the same order).
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

from tests.support.postgres import postgres_bin
from tests.support.service import database_under_test

TABLES = (
    "repairs",
    "legs",
    "history",
    "carrier_events",
    "booking_intents",
    "carrier_labels",
    "label_links",
    "idempotency_keys",
    "notifications",
)


def database_digest(path: Path) -> str:
    url = database_under_test.get()
    if url is not None:
        return _postgres_digest(url)
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _postgres_digest(url: str) -> str:
    folder = postgres_bin()
    psql = str(folder / "psql") if folder is not None and (folder / "psql").exists() else "psql"
    statements: list[str] = []
    for table in TABLES:  # one psql for every table: a table's rows, then its name as a separator
        statements += ["-c", f"COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT", "-c", f"\\echo -- {table}"]
    done = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", url, *statements], check=True, capture_output=True
    )
    return hashlib.sha256(done.stdout).hexdigest()
