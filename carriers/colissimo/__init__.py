"""Colissimo (La Poste): return labels and home-delivery labels through the SLS web service, the letterbox
pickup (SLS ``planPickup``) and tracking through La Poste's Suivi v2 API.

Only ``PLUGIN`` is public; the registry finds it through the ``logistics.carriers`` entry point. Importing
this package does no I/O.
"""

from __future__ import annotations

from pydantic import BaseModel

from carriers.base import CarrierAdapter, CarrierContext, CarrierPlugin
from carriers.colissimo.adapter import CAPABILITIES, ColissimoAdapter
from carriers.colissimo.settings import ColissimoSettings

__all__ = ["PLUGIN"]


def _factory(settings: BaseModel, context: CarrierContext) -> CarrierAdapter:
    if not isinstance(settings, ColissimoSettings):
        settings = ColissimoSettings.model_validate(settings.model_dump())
    return ColissimoAdapter(settings, context)


PLUGIN = CarrierPlugin(
    name="colissimo",
    title="Colissimo (La Poste)",
    settings_model=ColissimoSettings,
    factory=_factory,
    capabilities=CAPABILITIES,
    description="Colissimo SLS: return labels (Retour France, International, Outre-Mer) as 10x15 cm PDF, "
    "home-delivery labels, the letterbox pickup (planPickup); tracking through La Poste Suivi v2. "
    "No label void, pickup cancel, look-up by reference or tracking push.",
    tags=("parcel", "returns", "letterbox-pickup", "france"),
)
