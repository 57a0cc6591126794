"""How values are written to storage: UTC instants as ISO-8601 text, documents as compact JSON, page cursors.

JSON goes through orjson: compact and key-sorted like before, non-JSON values (datetimes included) still
written as their ``str``, and several times faster than the standard library on the documents written with
every change.
"""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return _utc_text(value)


@functools.lru_cache(maxsize=1024)
def _utc_text(value: datetime) -> str:
    # One change writes the same instant many times (created, updated, recorded, due ...); formatting it
    # costs some microseconds, a look-up here a tenth of that. Keys are UTC only: equal means same text.
    return value.isoformat(timespec="microseconds")


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=_OPTIONS).decode()


def loads(value: str | bytes) -> Any:
    return orjson.loads(value)


def page_cursor(value: str, repair_id: str) -> str:
    """The opaque cursor of a page of repairs: the sort column's stored text and the id of the last one."""
    return base64.urlsafe_b64encode(f"{value}|{repair_id}".encode()).decode().rstrip("=")


def parse_page_cursor(cursor: str) -> tuple[str, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        value, repair_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("malformed cursor") from exc
    return value, repair_id
