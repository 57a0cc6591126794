"""Local wall-clock times at a site turned into UTC instants, safely across daylight-saving changes.

Pickup windows and cut-offs are written in the site's local time. On the night of a daylight-saving change
a local time may not exist (clocks jump forward) or may happen twice (clocks fall back). The rule here is
deterministic and the same everywhere in the service:

* an ambiguous local time is the *first* occurrence (``fold=0``, the offset in force before the change);
* a nonexistent local time is moved forward by the length of the gap (02:30 on a spring-forward night in
  Paris becomes 03:30 CEST), which is where a clock that was not changed would point.

Both are what ``zoneinfo`` does for ``fold=0``; this module makes the choice explicit and tested.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (cached: zone objects are shared and immutable)."""
    return ZoneInfo(name)


def local_instant(day: date, wall_time: time, time_zone: str) -> datetime:
    """The UTC instant at which local clocks in ``time_zone`` read ``wall_time`` on ``day``.

    Ambiguous times resolve to the first occurrence; nonexistent times move forward by the gap.
    """
    if wall_time.tzinfo is not None or wall_time.fold:
        wall_time = wall_time.replace(tzinfo=None, fold=0)
    local = datetime.combine(day, wall_time, tzinfo=zone(time_zone))
    return local.astimezone(UTC)


def to_local(instant: datetime, time_zone: str) -> datetime:
    """``instant`` (timezone-aware) as a local datetime in ``time_zone``."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(zone(time_zone))


def is_valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone known to this system."""
    try:
        zone(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True
