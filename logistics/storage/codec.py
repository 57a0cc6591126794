"""How values are written to SQLite: UTC instants as ISO-8601 text, documents as compact JSON.

A repair is stored as its aggregate's JSON document (``Repair.model_dump_json()``). ``read_repair`` also
reads the document of the first releases, whose ``entitlement`` carried what routing decided beside what
the case system sent: those keys are moved to ``routed`` as the document is read.

JSON goes through orjson: compact and key-sorted like before, non-JSON values (datetimes included) still
written as their ``str``, and several times faster than the standard library on the documents written with
every change.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from logistics.domain.model import Repair, Routed

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


#: What the first releases kept in a repair's ``entitlement`` besides the case system's entitlement.
_ROUTED_IN_ENTITLEMENT = frozenset(Routed.model_fields)


def read_repair(document: str | bytes) -> Repair:
    """A stored repair, in today's shape or in the shape of the first releases (see the module's docstring).

    Today's shape is validated straight from the JSON, as fast as before; only a document that does not
    validate is looked at again for the older shape, so reading it costs nothing for today's documents."""
    try:
        return Repair.model_validate_json(document)
    except ValidationError:
        data = loads(document)
        entitlement = data.get("entitlement") if isinstance(data, dict) else None
        if not isinstance(entitlement, dict) or "routed" in data:
            raise
    data["routed"] = {key: entitlement.pop(key) for key in list(entitlement) if key in _ROUTED_IN_ENTITLEMENT}
    if "include_self_test_results" in entitlement:
        data["include_self_test_results"] = bool(entitlement.pop("include_self_test_results"))
    return Repair.model_validate(data)
