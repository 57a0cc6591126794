"""The grammar of booking references: one place for every suffix.

Carriers see these references and bookings are looked up by them, so a stored intent's reference never
changes; a new suffix is a new kind of booking.

- ``{repair_id}-in`` / ``{repair_id}-out``: a leg's shipment (``leg_reference``);
- ``{leg reference}-p{round}``: the leg's courier pickup, one per round (``pickup_reference``): a reschedule
  starts a new round, so a new booking;
- ``{reference}-x``: the cancellation of a booked pickup (``cancellation_reference``);
- ``{reference}-v``: the void of a booked shipment (``void_reference``);
- ``{pickup reference}-sweep``: the look-up-and-cancel of a pickup that may have been booked before a crash
  (``sweep_reference``).

Pure string functions: no I/O.
"""

from __future__ import annotations

from logistics.domain.journey import LegDirection

_LEG_SUFFIX = {LegDirection.INBOUND: "in", LegDirection.OUTBOUND: "out"}


def leg_reference(repair_id: str, direction: LegDirection) -> str:
    return f"{repair_id}-{_LEG_SUFFIX[direction]}"


def pickup_reference(leg_reference: str, pickup_round: int) -> str:
    return f"{leg_reference}-p{pickup_round}"


def cancellation_reference(reference: str) -> str:
    return f"{reference}-x"


def void_reference(reference: str) -> str:
    return f"{reference}-v"


def sweep_reference(pickup_reference: str) -> str:
    return f"{pickup_reference}-sweep"
