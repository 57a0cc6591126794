"""Where the bundled sample coverage file lives (package data)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# A plain Path: the package is installed as files (not zipped), which the service's packaging guarantees.
SAMPLE_COVERAGE_PATH = Path(str(files("logistics.coverage").joinpath("sample-coverage.yaml")))
