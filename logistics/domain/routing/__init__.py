"""Routing: which repair centre a device goes to, by courier pickup or self-shipment, and when.

Pure domain: no I/O, no clock. ``decide(coverage, request, now)`` is the entry point; ``Coverage`` is built
from a parsed coverage document (files are read by ``logistics.coverage``); ``BusinessCalendar`` and
``calendar_for`` answer business-day questions by country and subdivision.
"""

from logistics.domain.routing.calendar import BusinessCalendar, UnknownCalendar, calendar_for
from logistics.domain.routing.coverage import (
    CalendarSpec,
    CourierPickup,
    Coverage,
    CoverageInvalid,
    CoverageProblem,
    PickupWindow,
    Region,
    RegionMatch,
    RepairCentre,
    SelfShipment,
    WorkDays,
)
from logistics.domain.routing.decision import decide
from logistics.domain.routing.local_time import local_instant
from logistics.domain.routing.outcome import (
    Method,
    PickupSlot,
    Reason,
    RoutingDecision,
    TurnaroundTargets,
)
from logistics.domain.routing.request import (
    Device,
    Entitlement,
    Item,
    ItemKind,
    ProductLine,
    RoutingRequest,
    ServiceLevel,
    SiteAddress,
)

__all__ = [
    "BusinessCalendar",
    "CalendarSpec",
    "CourierPickup",
    "Coverage",
    "CoverageInvalid",
    "CoverageProblem",
    "Device",
    "Entitlement",
    "Item",
    "ItemKind",
    "Method",
    "PickupSlot",
    "PickupWindow",
    "ProductLine",
    "Reason",
    "Region",
    "RegionMatch",
    "RepairCentre",
    "RoutingDecision",
    "RoutingRequest",
    "SelfShipment",
    "ServiceLevel",
    "SiteAddress",
    "TurnaroundTargets",
    "UnknownCalendar",
    "WorkDays",
    "calendar_for",
    "decide",
    "local_instant",
]
