"""How values are written to SQLite: UTC instants as ISO-8601 text, documents as compact JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def loads(value: str) -> Any:
    return json.loads(value)
