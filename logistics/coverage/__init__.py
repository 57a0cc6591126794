"""Coverage files: loading with precise error messages, the bundled sample, and the CLI commands.

This package does the file I/O that the pure ``logistics.domain.routing`` leaves out.
"""

from logistics.coverage.commands import (
    add_check_arguments,
    add_explain_arguments,
    calendar_warnings,
    describe,
    report_problems,
    run_check,
    run_explain,
    run_explain_arguments,
    run_schema,
)
from logistics.coverage.loading import CoverageError, check_coverage, load_coverage, read_document
from logistics.coverage.sample import SAMPLE_COVERAGE_PATH
from logistics.coverage.schema import CoverageDocument, coverage_schema

__all__ = [
    "SAMPLE_COVERAGE_PATH",
    "CoverageDocument",
    "CoverageError",
    "add_check_arguments",
    "add_explain_arguments",
    "calendar_warnings",
    "check_coverage",
    "coverage_schema",
    "describe",
    "load_coverage",
    "read_document",
    "report_problems",
    "run_check",
    "run_explain",
    "run_explain_arguments",
    "run_schema",
]
