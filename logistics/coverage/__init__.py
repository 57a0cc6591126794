"""Coverage files: loading with precise error messages, the bundled sample, and the CLI commands.

This package does the file I/O that the pure ``logistics.domain.routing`` leaves out.
"""

from logistics.coverage.commands import (
    add_check_arguments,
    add_explain_arguments,
    describe,
    run_check,
    run_explain,
    run_explain_arguments,
)
from logistics.coverage.loading import CoverageError, check_coverage, load_coverage, read_document
from logistics.coverage.sample import SAMPLE_COVERAGE_PATH

__all__ = [
    "SAMPLE_COVERAGE_PATH",
    "CoverageError",
    "add_check_arguments",
    "add_explain_arguments",
    "check_coverage",
    "describe",
    "load_coverage",
    "read_document",
    "run_check",
    "run_explain",
    "run_explain_arguments",
]
