"""Shared fixtures for routing tests: the sample coverage."""

from __future__ import annotations

import pytest

from logistics.coverage import SAMPLE_COVERAGE_PATH, load_coverage
from logistics.domain.routing import Coverage


@pytest.fixture(scope="session")
def sample_coverage() -> Coverage:
    return load_coverage(SAMPLE_COVERAGE_PATH)
