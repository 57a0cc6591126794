"""Printed at 203 dpi, every label scans: Code 128 gives the tracking number, DataMatrix the intake payload."""

from __future__ import annotations

import pytest

from labels import PAGE_SIZES, render_label
from tests.labels.label_builders import LANGUAGES, description, longest_description
from tests.labels.pdf_reading import scan

A4_POINTS = (595.2756, 841.8898)
THERMAL_POINTS = (288.0, 432.0)


@pytest.mark.parametrize("language", [*LANGUAGES, "pl", "fr-BE"])
def test_thermal_label_scans_in_every_language(language: str) -> None:
    label = description(language=language, tracking_number="1Z4E5F6A0312345678")

    (page,) = scan(render_label(label, "4x6"))

    assert page.code128 == (label.tracking_number,)
    assert page.datamatrix == (label.intake_payload,)
    assert (page.width, page.height) == pytest.approx(THERMAL_POINTS, abs=1e-3)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a4_pack_scans_in_every_language(language: str) -> None:
    label = description(language=language, tracking_number="JJD000390007827453")

    first, slip = scan(render_label(label, "a4"))

    assert first.code128 == (label.tracking_number,)
    assert set(first.datamatrix) == {label.intake_payload}
    assert slip.datamatrix == (label.intake_payload,)
    for page in (first, slip):
        assert (page.width, page.height) == pytest.approx(A4_POINTS, abs=1e-3)


@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_longest_allowed_values_still_scan(page_format: str) -> None:
    label = longest_description("de")

    first = scan(render_label(label, page_format))[0]  # type: ignore[arg-type]

    assert first.code128 == (label.tracking_number,)
    assert label.intake_payload in first.datamatrix


def test_non_ascii_intake_payload_round_trips() -> None:
    label = description(intake_payload="CASE-7|Łódź|Αθήνα|Москва|Ñandú")

    (page,) = scan(render_label(label, "4x6"))

    assert page.datamatrix == (label.intake_payload,)


def test_published_page_sizes_are_exact() -> None:
    assert PAGE_SIZES["4x6"] == pytest.approx(THERMAL_POINTS, abs=1e-9)
    assert PAGE_SIZES["a4"] == pytest.approx((210 * 72 / 25.4, 297 * 72 / 25.4), abs=1e-9)
