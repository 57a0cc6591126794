"""A digest of everything the service stored, to prove that a refused request changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

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
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
    return digest.hexdigest()
