"""Carrier adapters: neutral models, the adapter contract, the error tree, resilience and the registry.

This package knows nothing of the logistics service or of labels.
"""

from carriers.base import AdapterFactory, CarrierAdapter, CarrierContext, CarrierPlugin, Clock, Sleep
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierCircuitOpen,
    CarrierError,
    CarrierNotFound,
    CarrierNotSupported,
    CarrierPushAuthError,
    CarrierPushError,
    CarrierPushMalformed,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierTransientError,
    CarrierUnavailable,
)
from carriers.models import (
    Address,
    Capability,
    CarrierLabel,
    Parcel,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
    TrackingStatus,
)
from carriers.registry import CarrierConfigurationError, CarrierRegistry, PluginInfo, PluginStatus
from carriers.resilience import AttemptOutcome, AttemptRecord, CallPolicy, ResilientCarrier

__all__ = [
    "AdapterFactory",
    "Address",
    "AttemptOutcome",
    "AttemptRecord",
    "CallPolicy",
    "Capability",
    "CarrierAdapter",
    "CarrierAmbiguousError",
    "CarrierAuthError",
    "CarrierCircuitOpen",
    "CarrierConfigurationError",
    "CarrierContext",
    "CarrierError",
    "CarrierLabel",
    "CarrierNotFound",
    "CarrierNotSupported",
    "CarrierPlugin",
    "CarrierPushAuthError",
    "CarrierPushError",
    "CarrierPushMalformed",
    "CarrierRateLimited",
    "CarrierRegistry",
    "CarrierRejected",
    "CarrierTimeout",
    "CarrierTransientError",
    "CarrierUnavailable",
    "Clock",
    "Parcel",
    "PickupBooking",
    "PickupRequest",
    "PluginInfo",
    "PluginStatus",
    "ResilientCarrier",
    "ShipmentBooking",
    "ShipmentRequest",
    "Sleep",
    "TrackingEvent",
    "TrackingResult",
    "TrackingStatus",
]
