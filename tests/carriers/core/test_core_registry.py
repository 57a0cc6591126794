"""The registry finds plug-ins by entry point, reports broken ones and validates settings by carrier."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint

import aiohttp
import pytest

from carriers.base import CarrierContext
from carriers.models import Capability
from carriers.registry import CarrierConfigurationError, CarrierRegistry, PluginStatus
from carriers.sim import PLUGIN, SimCarrier
from carriers.testing import EXAMPLE_START
from tests.support.clock import ManualClock

GROUP = "logistics.carriers"


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


def test_the_installed_built_ins_are_discovered() -> None:
    registry = CarrierRegistry.discover()
    infos = {info.name: info for info in registry.describe()}
    assert {"sim", "ups", "dhl_express", "colissimo"} <= infos.keys()
    sim = infos["sim"]
    assert sim.status is PluginStatus.ENABLED
    assert sim.source == "carriers.sim:PLUGIN"
    assert sim.distribution == "repair-logistics"
    assert set(sim.capabilities) == set(Capability) - {Capability.RECOVER_LABEL}  # it issues no label images
    for info in infos.values():  # a plug-in still being written shows up as broken, with its error
        assert (info.status is PluginStatus.BROKEN) == (info.error is not None)


def test_a_broken_plugin_is_reported_and_fatal_only_when_used() -> None:
    registry = CarrierRegistry.discover(
        found=[
            ep("sim", "carriers.sim:PLUGIN"),
            ep("ghost", "carriers.no_such_carrier:PLUGIN"),
            ep("odd", "carriers.sim:SimSettings"),
        ]
    )
    status = {i.name: (i.status, i.error) for i in registry.describe()}
    assert status["sim"] == (PluginStatus.ENABLED, None)
    assert status["ghost"][0] is PluginStatus.BROKEN
    assert "ModuleNotFoundError" in (status["ghost"][1] or "")
    assert "not a CarrierPlugin" in (status["odd"][1] or "")
    assert set(registry.plugins) == {"sim"}
    registry.ensure_usable(["sim"])
    with pytest.raises(CarrierConfigurationError, match=r"'ghost'.*failed to load"):
        registry.ensure_usable(["sim", "ghost"])


def test_a_disabled_plugin_is_not_even_imported() -> None:
    registry = CarrierRegistry.discover(["ghost"], found=[ep("ghost", "carriers.no_such_carrier:PLUGIN")])
    (info,) = registry.describe()
    assert (info.status, info.error) == (PluginStatus.DISABLED, None)
    with pytest.raises(CarrierConfigurationError, match="disabled"):
        registry.get("ghost")


def test_a_plugin_under_the_wrong_name_is_broken() -> None:
    registry = CarrierRegistry.discover(found=[ep("ups", "carriers.sim:PLUGIN")])
    assert registry.status("ups") is PluginStatus.BROKEN


def test_invalid_settings_name_the_carrier_and_field_but_not_the_value() -> None:
    registry = CarrierRegistry()
    registry.register(PLUGIN)
    with pytest.raises(CarrierConfigurationError) as caught:
        registry.validate_settings("sim", {"push_secret": 12345678, "max_track_batch": 0})
    message = str(caught.value)
    assert message.startswith("carrier 'sim': invalid settings")
    assert "max_track_batch" in message
    assert "12345678" not in message


def test_unknown_and_duplicate_names() -> None:
    registry = CarrierRegistry()
    registry.register(PLUGIN)
    with pytest.raises(CarrierConfigurationError, match="already registered"):
        registry.register(PLUGIN)
    with pytest.raises(CarrierConfigurationError, match="unknown carrier"):
        registry.get("fedex")


async def test_build_validates_and_builds_the_adapter() -> None:
    registry = CarrierRegistry()
    registry.register(PLUGIN)
    async with aiohttp.ClientSession() as session:
        context = CarrierContext(session=session, clock=ManualClock(EXAMPLE_START), sleep=asyncio.sleep)
        adapter = registry.build("sim", {"max_track_batch": 7}, context)
    assert isinstance(adapter, SimCarrier)
    assert adapter.max_track_batch == 7


def test_a_carrier_label_survives_a_json_round_trip() -> None:
    """Label images are bytes, not text: in JSON (an outbox record) they travel as base64."""
    from carriers.models import CarrierLabel

    gif = b"GIF89a\x01\x00\x01\x00\x80\xff\x00"
    label = CarrierLabel(content_type="image/gif", data=gif)
    as_json = label.model_dump(mode="json")
    assert as_json["data"] == "R0lGODlhAQABAID/AA=="
    assert CarrierLabel.model_validate(as_json).data == gif
    assert CarrierLabel.model_validate_json(label.model_dump_json()).data == gif
