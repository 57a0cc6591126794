"""The one clock tests move by hand, for the service and for carrier adapters alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris


class ManualClock:
    """A ``Clock`` (``logistics.clock`` and ``carriers.base``) that moves only when told to: aware UTC
    datetimes, forward by ``advance``, to any instant by ``set``."""

    def __init__(self, start: datetime = START) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move forward by ``seconds`` (plus any ``timedelta`` keyword arguments); returns the new now."""
        step = timedelta(seconds=seconds, **delta)
        if step < timedelta(0):
            raise ValueError("advance moves forward; set() puts the clock back")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        """Put the clock at ``instant``, before or after now (a test may go back to an earlier moment)."""
        self._now = _aware(instant)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a clock gives aware datetimes: give the instant a time zone")
    return instant.astimezone(UTC)
