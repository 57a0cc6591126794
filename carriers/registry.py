"""The carrier registry: finds adapter plug-ins, validates their settings and builds adapters.

Plug-ins are ``CarrierPlugin`` objects named by entry points in the ``logistics.carriers`` group; the
built-in carriers are declared the same way, so a third-party carrier is installed like any other package.
A plug-in that fails to load is recorded as *broken* with its error and reported by ``describe()``; it is
fatal only when the service actually enables it (``build`` or ``ensure_usable``). Plug-ins can also be
registered explicitly (tests, embedding code). Loading happens in ``discover()``, never at import time.

Errors here are configuration errors (``CarrierConfigurationError``), raised at start-up, not carrier call
failures: they are deliberately outside the ``CarrierError`` tree.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from carriers.base import CarrierAdapter, CarrierContext, CarrierPlugin
from carriers.models import Capability

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "logistics.carriers"


class CarrierConfigurationError(ValueError):
    """A carrier cannot be used as configured: unknown, disabled, broken, or invalid settings."""

    def __init__(self, carrier: str, message: str) -> None:
        super().__init__(f"carrier {carrier!r}: {message}")
        self.carrier = carrier


class PluginStatus(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    BROKEN = "broken"


@dataclass(frozen=True)
class PluginInfo:
    """One line of ``logistics carriers list``."""

    name: str
    source: str  # the entry point value ("carriers.sim:PLUGIN") or "explicit"
    distribution: str | None  # the installed distribution that declares it, when known
    status: PluginStatus
    capabilities: tuple[Capability, ...] = ()
    title: str = ""
    error: str | None = None


@dataclass(frozen=True)
class _Entry:
    name: str
    source: str
    distribution: str | None
    plugin: CarrierPlugin | None
    error: str | None


class CarrierRegistry:
    """Known carrier plug-ins by name, with the disabled and broken ones kept for reporting."""

    def __init__(self, *, disabled: Collection[str] = ()) -> None:
        self._disabled = frozenset(disabled)
        self._entries: dict[str, _Entry] = {}

    @classmethod
    def discover(
        cls,
        disabled: Collection[str] = (),
        *,
        group: str = ENTRY_POINT_GROUP,
        found: Iterable[EntryPoint] | None = None,
    ) -> CarrierRegistry:
        """Load every plug-in of the entry-point ``group`` (or the given ``found`` entry points).

        Disabled plug-ins are listed but not imported, so a disabled broken plug-in costs nothing.
        """
        registry = cls(disabled=disabled)
        for ep in sorted(found if found is not None else entry_points(group=group), key=lambda e: e.name):
            registry._load(ep)
        return registry

    def register(self, plugin: CarrierPlugin, *, source: str = "explicit") -> None:
        """Add a plug-in object directly; a name already known is an error."""
        if plugin.name in self._entries:
            raise CarrierConfigurationError(plugin.name, "already registered")
        self._entries[plugin.name] = _Entry(plugin.name, source, None, plugin, None)

    # -- queries ---------------------------------------------------------------------------------------

    @property
    def plugins(self) -> Mapping[str, CarrierPlugin]:
        """Enabled, loaded plug-ins by name."""
        return MappingProxyType(
            {
                name: entry.plugin
                for name, entry in sorted(self._entries.items())
                if entry.plugin is not None and name not in self._disabled
            }
        )

    @property
    def broken(self) -> Mapping[str, str]:
        """Plug-ins that failed to load, with their error, whether enabled or not."""
        return MappingProxyType({n: e.error for n, e in sorted(self._entries.items()) if e.error is not None})

    def is_disabled(self, name: str) -> bool:
        return name in self._disabled

    def status(self, name: str) -> PluginStatus:
        entry = self._entry(name)
        if name in self._disabled:
            return PluginStatus.DISABLED
        return PluginStatus.BROKEN if entry.plugin is None else PluginStatus.ENABLED

    def describe(self) -> list[PluginInfo]:
        """Every known plug-in, sorted by name, for listing."""
        infos = []
        for name, entry in sorted(self._entries.items()):
            plugin = entry.plugin
            infos.append(
                PluginInfo(
                    name=name,
                    source=entry.source,
                    distribution=entry.distribution,
                    status=self.status(name),
                    capabilities=tuple(sorted(plugin.capabilities)) if plugin else (),
                    title=plugin.title if plugin else "",
                    error=entry.error,
                )
            )
        return infos

    def get(self, name: str) -> CarrierPlugin:
        """The enabled plug-in ``name``; ``CarrierConfigurationError`` if unknown, disabled or broken."""
        entry = self._entry(name)
        if name in self._disabled:
            raise CarrierConfigurationError(name, "disabled in settings")
        if entry.plugin is None:
            raise CarrierConfigurationError(name, f"plug-in failed to load: {entry.error}")
        return entry.plugin

    def ensure_usable(self, names: Iterable[str]) -> None:
        """Fail at start-up if any carrier the service relies on is unknown, disabled or broken."""
        for name in names:
            self.get(name)

    def validate_settings(self, name: str, raw_settings: Mapping[str, Any]) -> BaseModel:
        """Validate a carrier's raw settings with its plug-in's ``settings_model``.

        The message names the carrier and each faulty field, never the values given (they may be secrets).
        """
        plugin = self.get(name)
        try:
            return plugin.settings_model.model_validate(dict(raw_settings))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            )
            raise CarrierConfigurationError(name, f"invalid settings: {problems}") from None

    def settings_problems(self, configured: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Every problem with the settings of the enabled carriers, one line each naming the setting
        (``carriers.ups.client_secret: Field required``), never the value given. Empty when all is well.

        For start-up, before the service says it is serving: a bad setting stops it with these lines."""
        problems: list[str] = []
        for name, raw in sorted(configured.items()):
            if name in self._disabled:
                continue
            try:
                plugin = self.get(name)
            except CarrierConfigurationError as exc:
                problems.append(f"carriers.{name}: {exc.args[0]}")
                continue
            try:
                plugin.settings_model.model_validate(dict(raw))
            except ValidationError as exc:
                for err in exc.errors(include_input=False, include_url=False):
                    where = ".".join(str(p) for p in err["loc"])
                    problems.append(f"carriers.{name}{'.' + where if where else ''}: {err['msg']}")
        return problems

    def build(self, name: str, raw_settings: Mapping[str, Any], context: CarrierContext) -> CarrierAdapter:
        """Validate the settings and build the adapter (no I/O beyond what the factory itself does)."""
        plugin = self.get(name)
        settings = self.validate_settings(name, raw_settings)
        adapter = plugin.factory(settings, context)
        if adapter.name != name:
            raise CarrierConfigurationError(name, f"factory built an adapter named {adapter.name!r}")
        return adapter

    # -- loading ---------------------------------------------------------------------------------------

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise CarrierConfigurationError(name, f"unknown carrier (known: {known})") from None

    def _load(self, ep: EntryPoint) -> None:
        distribution = ep.dist.name if ep.dist is not None else None
        if ep.name in self._entries:
            logger.warning("carrier plug-in %s declared twice; keeping the first", ep.name)
            return
        if ep.name in self._disabled:
            self._entries[ep.name] = _Entry(ep.name, ep.value, distribution, None, None)
            return
        plugin: CarrierPlugin | None = None
        error: str | None = None
        try:
            loaded = ep.load()
        except Exception as exc:  # a plug-in's import can fail in any way; report it, do not crash
            error = f"{type(exc).__name__}: {exc}"
        else:
            if not isinstance(loaded, CarrierPlugin):
                error = f"{ep.value} is a {type(loaded).__name__}, not a CarrierPlugin"
            elif loaded.name != ep.name:
                error = f"{ep.value} is named {loaded.name!r}, not {ep.name!r}"
            else:
                plugin = loaded
        if error is not None:
            logger.warning("carrier plug-in %s is broken: %s", ep.name, error)
        self._entries[ep.name] = _Entry(ep.name, ep.value, distribution, plugin, error)


@dataclass(frozen=True)
class AccessVerdict:
    """One line of ``logistics carriers check``."""

    carrier: str
    ok: bool
    detail: str


async def check_access(
    registry: CarrierRegistry,
    configured: Mapping[str, Mapping[str, Any]],
    context: CarrierContext,
    *,
    timeout_s: float = 20.0,
) -> list[AccessVerdict]:
    """Validate each enabled carrier's settings, build its adapter and make its one harmless call
    (``AccessCheck``): a verdict per carrier. Nothing is booked."""
    from carriers.base import AccessCheck
    from carriers.errors import CarrierAuthError, CarrierError

    verdicts: list[AccessVerdict] = []
    for name in sorted(n for n in configured if not registry.is_disabled(n)):
        problems = registry.settings_problems({name: configured[name]})
        if problems:
            verdicts.append(AccessVerdict(name, False, "; ".join(problems)))
            continue
        adapter = registry.build(name, configured[name], context)
        try:
            if not isinstance(adapter, AccessCheck):
                verdicts.append(AccessVerdict(name, True, "settings valid; the adapter has no harmless call to make"))
                continue
            detail = await asyncio.wait_for(adapter.check_access(), timeout_s)
            verdicts.append(AccessVerdict(name, True, detail))
        except CarrierAuthError as exc:
            verdicts.append(AccessVerdict(name, False, f"credentials refused: {exc.message}"))
        except CarrierError as exc:
            verdicts.append(AccessVerdict(name, False, f"{type(exc).__name__}: {exc.message}"))
        except TimeoutError:
            verdicts.append(AccessVerdict(name, False, f"no answer within {timeout_s:g} s"))
        finally:
            await adapter.aclose()
    return verdicts
