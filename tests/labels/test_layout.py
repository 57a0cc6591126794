"""Geometry, checked without rendering: nothing overflows, symbols keep their quiet zones and sizes."""

from __future__ import annotations

import itertools

import pytest

from labels.geometry import PRINTER_DOT, Bars, Box, Frame, Page, TextBlock, mm
from labels.pages import compose_pages
from labels.text_fitting import Paragraph, fit_block, fit_line
from tests.labels.label_builders import LANGUAGES, description, longest_description


def _blocks(page: Page) -> list[TextBlock]:
    return [element for element in page.elements if isinstance(element, TextBlock)]


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.right - 1e-6 and b.x < a.right - 1e-6 and a.y < b.top - 1e-6 and b.y < a.top - 1e-6


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_longest_allowed_values_stay_inside_their_boxes(language: str, page_format: str) -> None:
    for page in compose_pages(longest_description(language), page_format):  # type: ignore[arg-type]
        for block in _blocks(page):
            assert not block.truncated, [line.text for line in block.lines]
            assert page.box.contains(block.box)
            for line in block.lines:
                assert block.box.contains(line.extent), (line.text, line.extent, block.box)


@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_text_blocks_and_symbols_do_not_overlap(page_format: str) -> None:
    for page in compose_pages(longest_description("fr"), page_format):  # type: ignore[arg-type]
        boxes = [block.box for block in _blocks(page)]
        boxes += [element.box for element in page.elements if isinstance(element, Bars)]
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), (a, b)


@pytest.mark.parametrize("label", [description(), longest_description("nl")], ids=["typical", "longest"])
def test_code128_reads_at_203_dpi(label: object) -> None:
    (page,) = compose_pages(label, "4x6")  # type: ignore[arg-type]
    (code128,) = [e for e in page.elements if isinstance(e, Bars) and e.content == label.tracking_number]  # type: ignore[attr-defined]

    dots = code128.module / PRINTER_DOT
    assert dots == pytest.approx(round(dots)) and round(dots) >= 2  # whole printer dots, at least 0.25 mm
    assert code128.origin_x / PRINTER_DOT == pytest.approx(round(code128.origin_x / PRINTER_DOT))
    bars = code128.rectangles
    assert min(r.x for r in bars) - code128.box.x >= 10 * code128.module - 1e-6  # quiet zone left
    assert code128.box.right - max(r.right for r in bars) >= 10 * code128.module - 1e-6  # and right
    assert code128.box.height >= mm(12.7)
    assert page.box.inset(2.0).contains(code128.box)


def test_typical_tracking_number_gets_the_preferred_bar_width() -> None:
    (page,) = compose_pages(description(), "4x6")
    (code128,) = [e for e in page.elements if isinstance(e, Bars) and e.content == "1Z999AA10123456784"]

    assert 0.37 <= code128.module / mm(1) <= 0.5


@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_datamatrix_has_whole_dot_modules_and_a_quiet_zone(page_format: str) -> None:
    label = longest_description("it")
    for page in compose_pages(label, page_format):  # type: ignore[arg-type]
        for matrix in [e for e in page.elements if isinstance(e, Bars) and e.content == label.intake_payload]:
            assert round(matrix.module / PRINTER_DOT) >= 2
            assert matrix.module / PRINTER_DOT == pytest.approx(round(matrix.module / PRINTER_DOT))
            inner = matrix.box.inset(matrix.module - 1e-6)
            assert all(inner.contains(r) for r in matrix.rectangles)
            assert page.box.contains(matrix.box)


def test_a4_label_keeps_its_true_size_in_the_top_part() -> None:
    first, _slip = compose_pages(description(), "a4")
    (outline,) = [e for e in first.elements if isinstance(e, Frame) and e.line_width == 1.2]

    assert outline.box.width + 8.0 == pytest.approx(mm(101.6))
    assert outline.box.height + 8.0 == pytest.approx(mm(152.4))
    assert outline.box.y > first.height / 2 - mm(20)


def test_fit_block_shrinks_before_it_breaks_words() -> None:
    box = Box(0, 0, 60, 40)
    block = fit_block([Paragraph("Lithium-Ionen-Batterien in Ausrüstung")], box, max_size=12, min_size=3)

    assert not block.truncated
    assert {word for line in block.lines for word in line.text.split()} == {
        "Lithium-Ionen-Batterien",
        "in",
        "Ausrüstung",
    }
    assert all(box.contains(line.extent) for line in block.lines)


def test_fit_block_cuts_with_an_ellipsis_only_when_nothing_else_fits() -> None:
    box = Box(0, 0, 50, 10)
    block = fit_block([Paragraph("word " * 40)], box, max_size=10, min_size=6)

    assert block.truncated
    assert block.lines[-1].text.endswith("…")
    assert all(box.contains(line.extent) for line in block.lines)


def test_fit_line_shrinks_to_the_width() -> None:
    box = Box(10, 10, 80, 20)
    block = fit_line("1Z999AA10123456784", box, weight="bold", max_size=14, min_size=4)

    (line,) = block.lines
    assert line.size < 14
    assert box.contains(line.extent)
    assert not block.truncated
