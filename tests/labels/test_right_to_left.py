"""Hebrew and Arabic print right to left, Arabic letters joined, whole, inside their boxes."""

from __future__ import annotations

import unicodedata
from typing import get_args

import pypdfium2 as pdfium
import pytest

from labels import PageFormat, render_label
from labels.geometry import TextBlock
from labels.pages import compose_pages
from labels.typeface import typeface
from labels.visual_order import visual
from tests.labels.label_builders import customer_address, description

HEBREW_NAME = "דוד כהן"
HEBREW_STREET = "רחוב הרצל 5"
ARABIC_NAME = "محمد الأحمد"
ARABIC_STREET = "شارع الملك فهد 12"


def test_a_line_is_put_in_display_order_numbers_and_latin_kept_left_to_right() -> None:
    assert visual("שלום 12") == "12 םולש"
    assert visual("Tel Aviv רחוב") == "Tel Aviv בוחר"
    assert visual("Zofia Łukasiewicz") == "Zofia Łukasiewicz"  # left to right: unchanged


def test_arabic_letters_take_their_joined_forms() -> None:
    shown = visual("محمد")
    assert all("\ufe70" <= char <= "\ufeff" for char in shown)  # presentation forms, as a PDF draws them
    assert shown != "محمد"[::-1]


@pytest.mark.parametrize("page_format", get_args(PageFormat))
@pytest.mark.parametrize(("name", "street"), [(HEBREW_NAME, HEBREW_STREET), (ARABIC_NAME, ARABIC_STREET)])
def test_right_to_left_addresses_print_whole_with_real_glyphs(page_format: PageFormat, name: str, street: str) -> None:
    label = description(sender=customer_address(name=name, company=None, street_lines=(street,)))
    drawn: list[str] = []
    for page in compose_pages(label, page_format):
        for block in (e for e in page.elements if isinstance(e, TextBlock)):
            assert not block.truncated
            for line in block.lines:
                assert block.box.contains(line.extent, tolerance=0.01)
                assert all(typeface(line.weight).has_glyph(char) for char in line.text)
                drawn.append(line.text)
    assert visual(name) in drawn and visual(street) in drawn
    document = pdfium.PdfDocument(render_label(label, page_format))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "\ufffd" not in text
    # Readers put the line back in logical order (and NFKC maps the joined forms back to letters).
    assert street in unicodedata.normalize("NFKC", text)
