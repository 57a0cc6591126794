"""Routing use cases: the decision for a request, on the coverage currently in service.

The coverage in service is swapped atomically on reload: a request sees either the old file or the new one,
never a mix, and a file that does not load leaves the old one in service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from logistics.clock import Clock
from logistics.domain.routing import Coverage, RoutingDecision, RoutingRequest, decide

logger = logging.getLogger(__name__)


class CoverageInService:
    """Holds the coverage the service routes with; ``reload`` swaps it only if the new one loads."""

    def __init__(self, coverage: Coverage, loader: Callable[[], Coverage], source: str) -> None:
        self._coverage = coverage
        self._loader = loader
        self.source = source
        self.generation = 1
        # Told after each reload made here (not one made on another instance's word): a store that several
        # instances share passes it on, so that a reload on one reaches them all.
        self.on_reload: Callable[[], None] | None = None

    @property
    def current(self) -> Coverage:
        return self._coverage

    def reload(self, *, announce: bool = True) -> Coverage:
        """Load the file again; raises (and keeps the coverage in service) if it does not load. ``announce``
        False: the reload was made on another instance's word, and is not passed on again."""
        coverage = self._loader()
        self._coverage = coverage  # one reference assignment: atomic for every reader
        self.generation += 1
        logger.info("coverage reloaded from %s (generation %d)", self.source, self.generation)
        if announce and self.on_reload is not None:
            self.on_reload()
        return coverage


class Routing:
    def __init__(self, coverage: CoverageInService, clock: Clock) -> None:
        self._coverage = coverage
        self._clock = clock

    def quote(self, request: RoutingRequest) -> RoutingDecision:
        return decide(self._coverage.current, request, self._clock.now())

    @property
    def coverage(self) -> Coverage:
        return self._coverage.current
