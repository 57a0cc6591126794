"""The system packages some tests need (PostgreSQL's server, Chromium). Where one is missing, its tests skip
and say what to install; in CI, where ``.ci/run`` installs them, they fail instead, since a skip there would
hide tests that never ran."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, *, tests: str) -> NoReturn:
    """Skip the running test saying ``what`` is missing, or fail it in CI, where ``tests`` must not skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs it in .ci/run: {tests} must not be skipped)")
    pytest.skip(what)
