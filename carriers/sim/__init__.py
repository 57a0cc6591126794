"""The simulated carrier plug-in: the embedded default carrier, in process, with every capability.

Declared in the ``logistics.carriers`` entry-point group as ``sim = "carriers.sim:PLUGIN"``.
"""

from __future__ import annotations

from pydantic import BaseModel

from carriers.base import CarrierAdapter, CarrierContext, CarrierPlugin
from carriers.sim.adapter import ALL_CAPABILITIES, SimCarrier
from carriers.sim.codes import SIM_STATUS_CODES
from carriers.sim.push import SIGNATURE_HEADER, TIMESTAMP_HEADER, push_body, sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET, FaultStep, SimSettings, TimelineSettings
from carriers.sim.tracking_numbers import is_valid_tracking_number, make_tracking_number


def build(settings: BaseModel, context: CarrierContext) -> CarrierAdapter:
    """The plug-in factory: the registry has validated ``settings`` with ``SimSettings``."""
    assert isinstance(settings, SimSettings)
    return SimCarrier(settings, clock=context.clock, sleep=context.sleep)


PLUGIN = CarrierPlugin(
    name="sim",
    title="Simulated carrier",
    settings_model=SimSettings,
    factory=build,
    capabilities=ALL_CAPABILITIES,
    description="In-process carrier with scripted tracking and a configurable fault plan; no network.",
    tags=("builtin", "simulated"),
)

__all__ = [
    "DEVELOPMENT_PUSH_SECRET",
    "PLUGIN",
    "SIGNATURE_HEADER",
    "SIM_STATUS_CODES",
    "TIMESTAMP_HEADER",
    "FaultStep",
    "SimCarrier",
    "SimSettings",
    "TimelineSettings",
    "build",
    "is_valid_tracking_number",
    "make_tracking_number",
    "push_body",
    "sign_push",
]
