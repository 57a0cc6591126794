"""Coverage files: the sample passes; broken entries and ambiguous overlaps are refused precisely."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from logistics.coverage import (
    SAMPLE_COVERAGE_PATH,
    CoverageError,
    add_check_arguments,
    add_explain_arguments,
    check_coverage,
    load_coverage,
    read_document,
    run_check,
    run_explain,
    run_explain_arguments,
)
from logistics.domain.routing import Coverage, CoverageInvalid

WriteCoverage = Callable[[dict[str, Any]], Path]


@pytest.fixture
def sample_document() -> dict[str, Any]:
    document = read_document(SAMPLE_COVERAGE_PATH)
    assert isinstance(document, dict)
    return document


@pytest.fixture
def write_coverage(tmp_path: Path) -> WriteCoverage:
    def write(document: dict[str, Any]) -> Path:
        path = tmp_path / "coverage.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    return write


def _region_index(document: dict[str, Any], region_id: str) -> int:
    return next(i for i, region in enumerate(document["regions"]) if region["id"] == region_id)


def test_the_sample_passes_check_and_covers_the_programme_countries() -> None:
    assert check_coverage(SAMPLE_COVERAGE_PATH) == []
    coverage = load_coverage(SAMPLE_COVERAGE_PATH, known_carriers={"sim", "ups", "dhl_express", "colissimo"})
    expected = {"FR", "BE", "LU", "NL", "DE", "AT", "CH", "IT", "ES", "PT", "GB", "IE", "PL"}
    assert expected <= coverage.countries()
    assert len(coverage.centres) >= 4
    assert {r.courier_pickup is None for r in coverage.regions.values()} == {True, False}
    # French customers ship by Colissimo, and Brittany has its letterbox pickup.
    assert {r.courier_pickup.carrier for r in coverage.regions.values() if r.courier_pickup} == {"sim", "colissimo"}
    for department in ("67000", "68100", "57000", "97100", "97200", "97300", "97400", "97600"):
        assert coverage.region_for("FR", department) is not None
    assert SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8").startswith("# SAMPLE")


def test_a_broken_entry_is_named_with_its_field(sample_document: dict[str, Any], write_coverage: WriteCoverage) -> None:
    i = _region_index(sample_document, "fr-alsace")
    sample_document["regions"][i] = dict(sample_document["regions"][i], time_zone="Europe/Strasbourg")
    path = write_coverage(sample_document)
    with pytest.raises(CoverageError) as caught:
        load_coverage(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"regions[{i}] id 'fr-alsace', field 'time_zone'" in message
    assert "Europe/Strasbourg" in message


def test_every_problem_is_listed(sample_document: dict[str, Any], write_coverage: WriteCoverage) -> None:
    regions = sample_document["regions"]
    i, j = _region_index(sample_document, "be"), _region_index(sample_document, "pl")
    regions[i] = dict(regions[i], courier_pickup=dict(regions[i]["courier_pickup"], cut_off=960))
    regions[j] = dict(regions[j], repair_centre="pl-gdansk")
    problems = check_coverage(write_coverage(sample_document))
    assert len(problems) == 2
    assert re.match(rf"line \d+, column \d+: regions\[{i}\] id 'be', field 'courier_pickup.cut_off'", problems[0])
    assert "quoted 'HH:MM'" in problems[0]
    assert problems[1].endswith(f"regions[{j}] id 'pl', field 'repair_centre': unknown repair centre 'pl-gdansk'")


def test_unquoted_times_in_yaml_are_read_as_times(tmp_path: Path) -> None:
    text = SAMPLE_COVERAGE_PATH.read_text(encoding="utf-8").replace('cut_off: "16:00"', "cut_off: 16:00")
    assert "cut_off: 16:00" in text
    path = tmp_path / "unquoted.yaml"
    path.write_text(text, encoding="utf-8")
    region = load_coverage(path).regions["fr-idf"]
    assert region.courier_pickup is not None
    assert region.courier_pickup.cut_off.hour == 16


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (["75"], ["75"], True),  # the same prefix twice
        (["67000..67499"], ["67400..67999"], True),  # ranges with the same fixed part
        (["67"], ["67000..67999"], False),  # a range beats a prefix no longer than its fixed part
        (["67000..67999"], ["675"], False),  # a longer prefix beats the range
        (["67000..67999"], ["67100..67199"], False),  # a nested, more specific range
        ([], [], True),  # two country-wide regions
    ],
)
def test_ambiguous_overlaps_are_reported_at_load(
    sample_document: dict[str, Any], first: list[str], second: list[str], overlap: bool
) -> None:
    template = sample_document["regions"][_region_index(sample_document, "fr-idf")]
    sample_document["regions"] = [
        dict(template, id="zone-a", postal_codes=first),
        dict(template, id="zone-b", postal_codes=second),
    ]
    problems = Coverage.check_document(sample_document)
    if not overlap:
        assert problems == ()
        return
    assert len(problems) == 1
    assert problems[0].entry == "regions[1]"
    assert problems[0].entry_id == "zone-b"
    assert "ambiguous overlap" in problems[0].message
    with pytest.raises(CoverageInvalid, match="zone-a"):
        Coverage.from_document(sample_document)


def test_ranges_of_one_country_must_share_a_length(sample_document: dict[str, Any]) -> None:
    template = sample_document["regions"][_region_index(sample_document, "fr-idf")]
    sample_document["regions"] = [
        dict(template, id="zone-a", postal_codes=["6700..6799"]),
        dict(template, id="zone-b", postal_codes=["67000..67999"]),
    ]
    assert any("different lengths" in str(p) for p in Coverage.check_document(sample_document))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"postal_codes": ["67999..67000"]}, "postal_codes", "lower bound above"),
        ({"subdivision": "Atlantis"}, None, "no subdivision"),
        ({"courier_pickup": None, "self_shipment": None}, None, "needs courier_pickup"),
        ({"return_carrier": "ups"}, "repair_centre", "does not ship with"),  # pl-wroclaw has no ups
        ({"country": "France"}, "country", "pattern"),
    ],
)
def test_region_field_problems(
    sample_document: dict[str, Any], change: dict[str, Any], field: str | None, words: str
) -> None:
    i = _region_index(sample_document, "pl")
    sample_document["regions"][i] = dict(sample_document["regions"][i], **change)
    problems = Coverage.check_document(sample_document)
    assert len(problems) == 1, problems
    assert problems[0].entry == f"regions[{i}]"
    assert problems[0].field == field
    assert words in problems[0].message


def test_unknown_carriers_are_reported_when_the_service_names_its_own(
    sample_document: dict[str, Any],
) -> None:
    problems = Coverage.check_document(sample_document, known_carriers={"sim", "colissimo"})
    assert problems
    assert all("unknown carrier" in p.message and p.entry and p.entry.startswith("centres[") for p in problems)
    without_colissimo = Coverage.check_document(sample_document, known_carriers={"sim", "ups", "dhl_express"})
    assert without_colissimo
    assert all("unknown carrier 'colissimo'" in p.message for p in without_colissimo)
    assert any(p.entry and p.entry.startswith("regions[") for p in without_colissimo)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CoverageError, match=r"missing\.yaml"):
        load_coverage(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("regions: [unclosed", encoding="utf-8")
    assert "not valid YAML" in check_coverage(bad)[0]
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert check_coverage(empty) == ["the document must be a mapping with centres and regions"]


def test_run_check_prints_and_exits(sample_document: dict[str, Any], write_coverage: WriteCoverage) -> None:
    out = io.StringIO()
    assert run_check(SAMPLE_COVERAGE_PATH, out=out) == 0
    assert "OK" in out.getvalue()
    sample_document["regions"][0] = dict(sample_document["regions"][0], time_zone="Nowhere")
    out = io.StringIO()
    assert run_check(write_coverage(sample_document), out=out) == 1
    assert "regions[0] id 'fr-idf', field 'time_zone'" in out.getvalue()


def test_check_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_check_arguments(parser)
    args = parser.parse_args(["coverage.yaml", "--carriers", "sim,ups"])
    assert args.file == Path("coverage.yaml")
    assert args.carriers == ["sim", "ups"]


def test_run_explain_prints_the_decision() -> None:
    out = io.StringIO()
    code = run_explain(country="FR", postal_code="67000", at=datetime(2025, 4, 18, 8, tzinfo=UTC), out=out)
    assert code == 0
    text = out.getvalue()
    assert "region: fr-alsace" in text
    assert "slot: Wed 2025-04-23 09:00-17:00 Europe/Paris" in text
    assert "calendar.not_business_day" in text


def test_explain_arguments_drive_run_explain() -> None:
    parser = argparse.ArgumentParser()
    add_explain_arguments(parser)
    args = parser.parse_args(
        [
            "--country=FR",
            "--postal-code=75011",
            "--item=external_monitor:3",
            "--option=peripheral-pack",
            "--at=2025-06-12T11:00:00+02:00",
            "--json",
        ]
    )
    out = io.StringIO()
    assert run_explain_arguments(args, now=datetime(2000, 1, 1, tzinfo=UTC), out=out) == 1
    assert '"eligibility.too_many_monitors"' in out.getvalue()
    with pytest.raises(SystemExit):
        parser.parse_args(["--country=FR", "--postal-code=75011", "--at=2025-06-12T11:00:00"])
