"""What a coverage author sees: problems located in the file, anchors reported once, calendar warnings,
the JSON Schema, ``coverage explain``'s calendar lines, and ``serve`` refusing a bad file cleanly."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from logistics.cli import build_parser
from logistics.coverage import (
    SAMPLE_COVERAGE_PATH,
    check_coverage,
    coverage_schema,
    read_document,
    run_check,
    run_explain,
    run_schema,
)

SAMPLE_TEXT = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8")


def _line_and_column(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of the value after ``needle`` (its n-th occurrence)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    at = start + len(needle)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "coverage.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_problem_carries_the_line_and_column_of_its_value(tmp_path: Path) -> None:
    text = SAMPLE_TEXT.replace("time_zone: Indian/Reunion", "time_zone: Indian/Nowhere")
    (problem,) = check_coverage(_write(tmp_path, text))
    line, column = _line_and_column(
        text, "time_zone: ", SAMPLE_TEXT[: SAMPLE_TEXT.index("Indian/Reunion")].count("time_zone: ") - 1
    )
    assert problem.startswith(f"line {line}, column {column}: regions[")
    assert "id 'fr-reunion', field 'time_zone'" in problem


def test_a_missing_field_is_located_at_its_entry(tmp_path: Path) -> None:
    text = SAMPLE_TEXT.replace(
        "    return_carrier: sim\n    repair_centre: es-madrid\n    turnaround: *turnaround-remote",
        "    repair_centre: es-madrid\n    turnaround: *turnaround-remote",
        1,
    )
    (problem,) = check_coverage(_write(tmp_path, text))
    line, _ = _line_and_column(text, "- id: es-canarias")
    assert re.match(rf"line {line}, column \d+: regions\[\d+\] id 'es-canarias', field 'return_carrier': ", problem)


def test_a_bad_value_in_a_shared_anchor_is_reported_once_at_the_anchor(tmp_path: Path) -> None:
    anchor = '  - &pickup-next-day\n    carrier: sim\n    lead_time_business_days: 1\n    cut_off: "16:00"'
    assert anchor in SAMPLE_TEXT
    text = SAMPLE_TEXT.replace(anchor, anchor.replace('"16:00"', '"25:00"'))
    problems = check_coverage(_write(tmp_path, text))
    assert len(problems) == 1
    line, column = _line_and_column(text, "    cut_off: ")
    users = len(re.findall(r"courier_pickup: \*pickup-next-day", text))
    assert users > 5
    (problem,) = problems
    assert problem.startswith(f"line {line}, column {column}: anchor &pickup-next-day, used by regions[0] id 'fr-idf'")
    assert problem.count("regions[") == users
    assert "expected a local time 'HH:MM'" in problem


def test_check_warns_when_a_france_wide_range_spans_several_calendars(tmp_path: Path) -> None:
    document = read_document(SAMPLE_COVERAGE_PATH)
    template = next(r for r in document["regions"] if r["id"] == "fr-idf")
    document["regions"] = [dict(template, id="fr", postal_codes=["01000..98999"])]
    path = tmp_path / "coverage.json"  # JSON is YAML too
    path.write_text(json.dumps(document), encoding="utf-8")
    out = io.StringIO()
    assert run_check(path, out=out) == 0
    (warning,) = [line for line in out.getvalue().splitlines() if "warning:" in line]
    assert "region 'fr' spans" in warning
    assert "FR (national), Europe/Paris for the rest of France" in warning
    assert "FR-6AE, Europe/Paris for department 67, 68;" in warning
    assert "FR-57, Europe/Paris for department 57" in warning
    assert "FR-974, Indian/Reunion for department 974" in warning
    # Split into regions of one calendar each, nothing to warn about.
    document["regions"] = [dict(template, id="fr", postal_codes=["75"])]
    path.write_text(json.dumps(document), encoding="utf-8")
    out = io.StringIO()
    assert run_check(path, out=out) == 0
    assert "warning" not in out.getvalue()


def test_check_warns_when_a_region_names_a_calendar_its_postal_codes_contradict(tmp_path: Path) -> None:
    document = read_document(SAMPLE_COVERAGE_PATH)
    template = next(r for r in document["regions"] if r["id"] == "fr-idf")
    document["regions"] = [dict(template, id="paris", subdivision="974", postal_codes=["75"])]
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    out = io.StringIO()
    assert run_check(path, out=out) == 0
    (warning,) = [line for line in out.getvalue().splitlines() if "warning:" in line]
    assert "region 'paris' names calendar FR-974, but the address decides another for the rest of France" in warning
    assert "(FR (national), Europe/Paris)" in warning


def test_the_schema_validates_the_sample_and_refuses_a_bad_value() -> None:
    out = io.StringIO()
    assert run_schema(out) == 0
    schema = json.loads(out.getvalue())
    assert schema == coverage_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    sample = read_document(SAMPLE_COVERAGE_PATH)
    assert list(validator.iter_errors(sample)) == []
    sample["regions"][0]["courier_pickup"] = dict(sample["regions"][0]["courier_pickup"], cut_off=960)
    sample["regions"][1]["colour"] = "blue"
    paths = sorted(list(error.absolute_path) for error in validator.iter_errors(sample))
    assert paths == [["regions", 0, "courier_pickup"], ["regions", 1]]  # courier_pickup is an object or null
    assert build_parser().parse_args(["coverage", "schema"]).func.__name__ == "coverage_schema"


def test_explain_shows_the_calendar_the_zone_the_holidays_skipped_and_the_rule() -> None:
    out = io.StringIO()
    # Thursday 2 April 2026, 15:30 in Strasbourg, before the 16:00 cut-off.
    assert run_explain(country="FR", postal_code="67000", at=datetime(2026, 4, 2, 13, 30, tzinfo=UTC), out=out) == 0
    text = out.getvalue()
    assert "calendar: FR-6AE, decided by postal code; time zone Europe/Paris" in text
    assert "local time of the request: Thu 2026-04-02 15:30" in text
    assert "counted from the request day: today if it is a business day and the request comes before the 16:00" in text
    assert (
        "holidays and closures skipped until 2026-04-07: Fri 2026-04-03 Good Friday; Mon 2026-04-06 Easter Monday"
        in text
    )
    out = io.StringIO()
    assert run_explain(country="FR", postal_code="97400", at=datetime(2026, 4, 2, 13, 30, tzinfo=UTC), out=out) == 0
    assert "calendar: FR-974, decided by postal code; time zone Indian/Reunion" in out.getvalue()


@pytest.mark.parametrize("problem", ["bad_value", "not_yaml"])
def test_serve_with_a_bad_coverage_file_exits_with_the_checks_report(tmp_path: Path, problem: str) -> None:
    text = (
        SAMPLE_TEXT.replace("time_zone: Indian/Reunion", "time_zone: Indian/Nowhere")
        if problem == "bad_value"
        else "regions: [unclosed"
    )
    path = _write(tmp_path, text)
    env = dict(os.environ, LOGISTICS_COVERAGE_PATH=str(path), LOGISTICS_DATABASE_PATH=str(tmp_path / "db.sqlite"))
    env["LOGISTICS_DEV_KEYS_PATH"] = str(tmp_path / "keys.json")
    done = subprocess.run(
        [sys.executable, "-c", "from logistics.cli import main; raise SystemExit(main(['serve']))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    check = io.StringIO()
    assert run_check(path, out=check) == 1
    assert check.getvalue() in done.stderr
    assert not (tmp_path / "db.sqlite").exists()
