"""UPS carrier plug-in: OAuth client credentials, Pickup, Shipping (incl. Print Return Label), Tracking and
Track Alert pushes, over UPS's REST APIs.

Only ``PLUGIN`` is public; the entry point ``ups = "carriers.ups:PLUGIN"`` in the ``logistics.carriers``
group points at it. Importing this package does no I/O.
"""

from __future__ import annotations

from carriers.base import CarrierPlugin
from carriers.ups.client import CAPABILITIES, create_adapter
from carriers.ups.settings import UpsSettings

PLUGIN = CarrierPlugin(
    name="ups",
    title="UPS",
    settings_model=UpsSettings,
    factory=create_adapter,
    capabilities=CAPABILITIES,
    description="Courier pickups, shipments, print-return labels (GIF), tracking, Track Alert pushes.",
    tags=("parcel", "pickup", "returns", "push"),
)

__all__ = ["PLUGIN"]
