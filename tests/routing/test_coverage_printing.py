"""Coverage texts that labels print (centre addresses, drop-off texts) must print with real glyphs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from logistics.coverage import SAMPLE_COVERAGE_PATH, CoverageError, check_coverage, load_coverage, read_document


def test_a_drop_off_text_the_labels_cannot_print_is_refused_with_its_entry_and_field(tmp_path: Path) -> None:
    document = read_document(SAMPLE_COVERAGE_PATH)
    region = next(r for r in document["regions"] if r.get("self_shipment"))
    region["self_shipment"] = dict(region["self_shipment"], drop_off_by_language={"ja": "最寄りの取扱店へ"})
    centre = document["centres"][0]
    centre["address"] = dict(centre["address"], name="修理センター")
    path = tmp_path / "coverage.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")

    problems = check_coverage(path)
    with pytest.raises(CoverageError):
        load_coverage(path)

    assert len(problems) == 2
    assert f"id '{centre['id']}', field 'address.name'" in problems[0] and "no glyph" in problems[0]
    assert f"id '{region['id']}', field 'self_shipment.drop_off_by_language.ja'" in problems[1]
    assert "no glyph" in problems[1]
