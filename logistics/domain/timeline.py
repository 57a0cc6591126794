"""A leg's journey as the carrier's own clock tells it, whatever order its scans arrived in. Pure: no I/O.

Carriers send scans late, twice and out of order. The timeline of a leg is a function of the *set* of its
scans, ordered by (carrier time, event id):

- its **steps**: each status that takes the parcel further than every earlier scan did, dated by the
  earliest scan that reports it (a second "in transit" is not a step; an "in transit" dated after
  "delivered" is not one either);
- its **episodes** of trouble: a run of consecutive scans reporting the same problem (an exception, a return
  to sender) raises one flag at the run's first scan, cleared by the first later scan of another kind.

The aggregate (``logistics.domain.model.Repair.follow_scans``) compares the timeline with what it has already
recorded and records only the difference, so the journey ends the same for every arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logistics.domain.journey import LEG_STAGE, WITH_CARRIER, LegStatus

FLAG_CODES: dict[LegStatus, str] = {
    LegStatus.EXCEPTION: "carrier.exception",
    LegStatus.RETURNED_TO_SENDER: "carrier.returned_to_sender",
}


@dataclass(frozen=True, slots=True)
class Scan:
    """One carrier event of a leg, as the journey reads it."""

    at: datetime
    event_id: str
    status: LegStatus
    source: str  # "<carrier>:<event id>", as the history names it
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[datetime, str]:
        """The carrier's order; the event id settles scans that share a timestamp, the same in any arrival."""
        return (self.at, self.event_id)


@dataclass(frozen=True)
class Episode:
    """A run of consecutive scans reporting the same problem, and the scan that ended it (None: still open)."""

    code: str
    scans: tuple[Scan, ...]
    cleared_by: Scan | None

    @property
    def first(self) -> Scan:
        return self.scans[0]


@dataclass(frozen=True)
class LegTimeline:
    steps: dict[LegStatus, Scan]
    episodes: tuple[Episode, ...]

    def first_custody(self) -> Scan | None:
        """The earliest scan proving the carrier holds the parcel (every step does)."""
        return min(self.steps.values(), key=lambda s: s.key, default=None)


def leg_timeline(scans: Iterable[Scan]) -> LegTimeline:
    steps: dict[LegStatus, Scan] = {}
    furthest = -1
    episodes: list[Episode] = []
    run: list[Scan] = []
    run_code: str | None = None
    for scan in sorted(scans, key=lambda s: s.key):
        if scan.status in WITH_CARRIER and scan.status not in steps and LEG_STAGE[scan.status] > furthest:
            steps[scan.status] = scan
            furthest = LEG_STAGE[scan.status]
        code = FLAG_CODES.get(scan.status)
        if run_code is not None and code != run_code:
            episodes.append(Episode(run_code, tuple(run), scan))
            run, run_code = [], None
        if code is not None:
            run_code = code
            run.append(scan)
    if run_code is not None:
        episodes.append(Episode(run_code, tuple(run), None))
    return LegTimeline(steps, tuple(episodes))
