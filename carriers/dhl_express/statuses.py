"""DHL Express checkpoint codes and their normalised tracking status.

The codes are DHL's published Express status list (the ``express`` rows of DHL's status-code file): two-letter
checkpoint ``typeCode``s on events, and the three-digit shipment-level codes. The table is written out here
rather than read from a file so the adapter does no I/O for it; every event keeps DHL's raw code anyway, so a
code that is missing here degrades to ``UNKNOWN`` without losing information.

``PU`` is mapped to ``PICKED_UP`` and ``SA`` (acceptance at a DHL point) to ``DROPPED_OFF``; the service may
still correct the first acceptance scan from its own knowledge of whether a pickup was booked.
"""

from __future__ import annotations

from types import MappingProxyType

from carriers.models import TrackingStatus

_S = TrackingStatus

#: DHL Express checkpoint code → (normalised status, DHL's own wording from the status list).
CHECKPOINTS: MappingProxyType[str, tuple[TrackingStatus, str]] = MappingProxyType(
    {
        # Shipment-level summary codes.
        "101": (_S.DELIVERED, "delivered"),
        "102": (_S.IN_TRANSIT, "transit"),
        "103": (_S.EXCEPTION, "failure"),
        "104": (_S.LABEL_CREATED, "pre-transit"),
        # Acceptance.
        "PU": (_S.PICKED_UP, "Shipment pick up"),
        "SA": (_S.DROPPED_OFF, "Shipment acceptance"),
        # Movement and clearance: the device is on its way.
        "AD": (_S.IN_TRANSIT, "Agreed delivery"),
        "AF": (_S.IN_TRANSIT, "Arrived facility"),
        "AR": (_S.IN_TRANSIT, "Arrival in delivery facility"),
        "BN": (_S.IN_TRANSIT, "Customer broker notified"),
        "BR": (_S.IN_TRANSIT, "Broker release"),
        "CR": (_S.IN_TRANSIT, "Clearance release"),
        "DF": (_S.IN_TRANSIT, "Depart facility"),
        "FD": (_S.IN_TRANSIT, "Forward destination (DD's expected)"),
        "IC": (_S.IN_TRANSIT, "In clearance processing"),
        "PL": (_S.IN_TRANSIT, "Processed at location"),
        "PY": (_S.IN_TRANSIT, "Payment"),
        "RR": (_S.IN_TRANSIT, "Response received"),
        "SC": (_S.IN_TRANSIT, "Service changed"),
        "SM": (_S.IN_TRANSIT, "Scheduled for movement"),
        "TR": (_S.IN_TRANSIT, "Record of transfer"),
        # Last mile.
        "WC": (_S.OUT_FOR_DELIVERY, "With delivering courier"),
        "CC": (_S.AWAITING_COLLECTION, "Awaiting cnee collection"),
        # Delivered: OK is DHL's final delivery scan; a partial or damaged delivery is still a delivery,
        # and the raw code tells the two apart for whoever needs to act on the damage.
        "OK": (_S.DELIVERED, "Delivery"),
        "PD": (_S.DELIVERED, "Partial delivery"),
        "DD": (_S.DELIVERED, "Delivered damaged"),
        # Something needs attention.
        "BA": (_S.EXCEPTION, "Bad address"),
        "CA": (_S.EXCEPTION, "Closed on arrival"),
        "CD": (_S.EXCEPTION, "Controllable clearance delay"),
        "CM": (_S.EXCEPTION, "Customer moved"),
        "CS": (_S.EXCEPTION, "Closed shipment"),
        "DS": (_S.EXCEPTION, "Destroyed / disposal"),
        "HP": (_S.EXCEPTION, "Held for payment"),
        "MC": (_S.EXCEPTION, "Miscode"),
        "MD": (_S.EXCEPTION, "Missed delivery cycle"),
        "MS": (_S.EXCEPTION, "Mis-sort"),
        "ND": (_S.EXCEPTION, "Not delivered"),
        "NH": (_S.EXCEPTION, "Not home"),
        "OH": (_S.EXCEPTION, "On hold"),
        "RD": (_S.EXCEPTION, "Refused delivery"),
        "SS": (_S.EXCEPTION, "Shipment stopped"),
        "TP": (_S.EXCEPTION, "Forwarded to 3rd party - no DD's"),
        "UD": (_S.EXCEPTION, "Uncontrollable clearance delay"),
        # Back to the sender.
        "RT": (_S.RETURNED_TO_SENDER, "Returned to consignor"),
    }
)


def status_for(type_code: str) -> TrackingStatus:
    """The normalised status of a DHL Express checkpoint code; ``UNKNOWN`` for a code not in the list."""
    entry = CHECKPOINTS.get(type_code.strip().upper())
    return entry[0] if entry is not None else TrackingStatus.UNKNOWN


def description_for(type_code: str) -> str:
    """DHL's own short wording for a checkpoint code, or ``""`` for a code not in the list."""
    entry = CHECKPOINTS.get(type_code.strip().upper())
    return entry[1] if entry is not None else ""
