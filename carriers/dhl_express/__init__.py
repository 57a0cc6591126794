"""DHL Express through the MyDHL API 3.1.1: pickups, shipments with PDF labels (returns too) and tracking.

Only ``PLUGIN`` is public; the registry finds it through the ``logistics.carriers`` entry point.
"""

from __future__ import annotations

from pydantic import BaseModel

from carriers.base import CarrierAdapter, CarrierContext, CarrierPlugin
from carriers.dhl_express.adapter import CAPABILITIES, DhlExpressAdapter
from carriers.dhl_express.settings import DhlExpressSettings

__all__ = ["PLUGIN"]


def _factory(settings: BaseModel, context: CarrierContext) -> CarrierAdapter:
    if not isinstance(settings, DhlExpressSettings):
        settings = DhlExpressSettings.model_validate(settings.model_dump())
    return DhlExpressAdapter(settings, context)


PLUGIN = CarrierPlugin(
    name="dhl_express",
    title="DHL Express",
    settings_model=DhlExpressSettings,
    factory=_factory,
    capabilities=CAPABILITIES,
    description="DHL Express MyDHL API 3.1.1: courier pickups, shipments and customer return labels "
    "(PDF), tracking by waybill and by our reference. No shipment void, pickup lookup or tracking push.",
    tags=("express", "international", "pickup", "returns"),
)
