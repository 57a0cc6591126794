"""The PostgreSQL store: what ``database_url`` selects, for several instances sharing one database.

``engine`` holds the pool, the migrations and how a lost connection becomes a 503; ``store`` the ``Store``
port, on the SQLite store's queries. asyncpg is imported with it (no connection is made until ``Engine.open``).
"""

from __future__ import annotations

from logistics.storage.postgres.engine import Engine
from logistics.storage.postgres.store import COVERAGE_CHANNEL, WORK_CHANNEL, PostgresStore

__all__ = ["COVERAGE_CHANNEL", "WORK_CHANNEL", "Engine", "PostgresStore"]
