"""Marks and codes at the sizes their readers need: the lithium battery mark at its regulated minimum, the
intake DataMatrix large enough for a hand scanner, the tracking number grouped for reading."""

from __future__ import annotations

from typing import get_args

import pytest

from labels import PageFormat
from labels.geometry import Bars, Frame, HatchedBorder, Page, TextBlock, mm
from labels.pages import compose_pages
from tests.labels.label_builders import description

REAL_PAYLOAD = "LGX1|rp_0193a4b5c6d7e8f90a1b|inbound|ABCDEFGHIJKLMNOP"  # as the service makes them


@pytest.mark.parametrize("page_format", get_args(PageFormat))
@pytest.mark.parametrize("direction", ["to_repair_centre", "to_customer"])
def test_a_battery_packed_with_the_device_gets_the_regulated_mark_as_a_sticker(
    page_format: PageFormat, direction: str
) -> None:
    label = description(direction=direction, lithium_mark_required=True)
    pages = compose_pages(label, page_format)
    marks = [(page, e) for page in pages for e in page.elements if isinstance(e, HatchedBorder)]
    assert len(marks) == 1
    page, mark = marks[0]
    assert mark.box.width >= mm(100.0) - 1e-6 and mark.box.height >= mm(70.0) - 1e-6
    assert mark.band >= mm(5.0) - 1e-6 and mark.colour == "red"
    assert page.box.contains(mark.box)
    assert "UN3481" in _text(page)
    # Cut out along its own dashed frame, clear of everything else on the page.
    frame = next(e for e in page.elements if isinstance(e, Frame) and e.dashed and e.box.contains(mark.box))
    for element in page.elements:
        if isinstance(element, TextBlock) and "UN3481" not in " ".join(line.text for line in element.lines):
            assert not _overlap(element.box, frame.box), element.lines[0].text


def test_no_sticker_where_the_mark_is_not_required() -> None:
    for page_format in get_args(PageFormat):
        pages = compose_pages(description(lithium_mark_required=False), page_format)
        assert not [e for page in pages for e in page.elements if isinstance(e, HatchedBorder)]


@pytest.mark.parametrize("page_format", get_args(PageFormat))
@pytest.mark.parametrize("carrier", [False, True])
def test_every_intake_code_has_modules_a_hand_scanner_finds_at_once(page_format: PageFormat, carrier: bool) -> None:
    from labels import CarrierLabelImage
    from tests.labels.test_translation_completeness import TINY_PNG

    image = CarrierLabelImage(content_type="image/png", data=TINY_PNG) if carrier else None
    pages = compose_pages(description(intake_payload=REAL_PAYLOAD, carrier_label=image), page_format)
    matrices = [e for page in pages for e in page.elements if isinstance(e, Bars) and e.content == REAL_PAYLOAD]
    assert matrices
    for matrix in matrices:
        assert matrix.module >= mm(0.75)  # 6 dots of a 203 dpi printer at least
        assert matrix.box.width >= mm(18.0)


def test_the_tracking_number_is_printed_in_groups_of_four_under_bars_that_carry_it_whole() -> None:
    (page,) = compose_pages(description(tracking_number="1Z999AA10123456784"), "4x6")
    assert "1Z99 9AA1 0123 4567 84" in _text(page)
    assert any(isinstance(e, Bars) and e.content == "1Z999AA10123456784" for e in page.elements)


def _text(page: Page) -> str:
    return " ".join(line.text for e in page.elements if isinstance(e, TextBlock) for line in e.lines)


def _overlap(a: object, b: object) -> bool:
    from labels.geometry import Box

    assert isinstance(a, Box) and isinstance(b, Box)
    return a.x < b.right and b.x < a.right and a.y < b.top and b.y < a.top
