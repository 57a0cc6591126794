"""The simulated carrier's event codes and their normalised statuses.

These codes appear in ``track()`` results and in tracking pushes (``raw_code``); the table is the single
place where they are mapped onto ``TrackingStatus``.
"""

from __future__ import annotations

from types import MappingProxyType

from carriers.models import TrackingStatus

SIM_STATUS_CODES = MappingProxyType(
    {
        "LC": (TrackingStatus.LABEL_CREATED, "Label created, shipment information received"),
        "PS": (TrackingStatus.PICKUP_SCHEDULED, "Courier pickup scheduled"),
        "PU": (TrackingStatus.PICKED_UP, "Picked up by the courier"),
        "DO": (TrackingStatus.DROPPED_OFF, "Dropped off at an access point"),
        "IT": (TrackingStatus.IN_TRANSIT, "In transit"),
        "OD": (TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery"),
        "AC": (TrackingStatus.AWAITING_COLLECTION, "Awaiting collection at an access point"),
        "DL": (TrackingStatus.DELIVERED, "Delivered"),
        "EX": (TrackingStatus.EXCEPTION, "Delivery exception"),
        "RS": (TrackingStatus.RETURNED_TO_SENDER, "Returned to sender"),
        "VO": (TrackingStatus.CANCELLED, "Shipment voided"),
    }
)


def status_for(code: str) -> TrackingStatus:
    """The normalised status of a sim code; unknown codes are ``UNKNOWN``, never an error."""
    entry = SIM_STATUS_CODES.get(code)
    return entry[0] if entry else TrackingStatus.UNKNOWN


def description_for(code: str) -> str:
    entry = SIM_STATUS_CODES.get(code)
    return entry[1] if entry else ""
