"""The PostgreSQL store: what ``database_url`` selects, for several instances sharing one database.

``engine`` holds the pool, the migrations and how a lost connection becomes a 503; ``store`` the ``Store``
port, on the SQLite store's queries. Nothing here is imported unless ``database_url`` is set.
"""

from __future__ import annotations

from logistics.storage.postgres.engine import Engine
from logistics.storage.postgres.store import WORK_CHANNEL, PostgresStore

__all__ = ["WORK_CHANNEL", "Engine", "PostgresStore"]
