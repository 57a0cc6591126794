"""The same description always gives the same bytes, whatever the caches hold."""

from __future__ import annotations

import pytest

from labels import render_label
from labels.font_program import font_program
from labels.text_fitting import _fit_block
from labels.typeface import _unit_width
from tests.labels.label_builders import description, longest_description


@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_same_description_renders_byte_identical(page_format: str) -> None:
    label = description()

    first = render_label(label, page_format)  # type: ignore[arg-type]
    render_label(longest_description(), page_format)  # type: ignore[arg-type]
    font_program.cache_clear()
    _fit_block.cache_clear()
    _unit_width.cache_clear()
    second = render_label(label, page_format)  # type: ignore[arg-type]

    assert first == second


def test_different_descriptions_render_differently() -> None:
    assert render_label(description(), "4x6") != render_label(description(tracking_number="1Z999AA10123456785"), "4x6")


def test_no_clock_or_producer_leaks_into_the_file() -> None:
    pdf = render_label(description(), "a4")

    assert b"/CreationDate" not in pdf
    assert b"/ModDate" not in pdf
    assert b"/Producer" not in pdf
