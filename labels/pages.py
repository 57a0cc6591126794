"""Whole pages for each paper format, from the label layout and the instruction texts.

- "4x6" (101.6 × 152.4 mm, thermal): one label per piece ("n of m"); with a carrier-issued label, that
  label scaled to fit on page 1, ours for further pieces, and our intake page (case, RETURN mark, UN3481,
  DataMatrix); on the way back, the dispatch slip last.
- "a4" (210 × 297 mm, printed at home): a page per piece with its label at true 4×6 size inside a dashed
  cut frame. Inbound, the first page has the case number, pickup or drop-off and support beside the label
  and the packing instructions below, and the packing slip the repair centre checks on receipt follows;
  outbound, the first page has the dispatch slip below the label.

This module only composes geometry; it must not draw or do I/O.
"""

from __future__ import annotations

from typing import Final, Literal

from labels.catalogue import Catalogue
from labels.description import LabelDescription
from labels.errors import BarcodeEncodingError
from labels.geometry import Box, Element, Frame, ImageSlot, Page, mm
from labels.instructions import (
    dispatch_slip_paragraphs,
    logistics_paragraphs,
    packing_paragraphs,
    packing_slip_paragraphs,
)
from labels.layout import (
    LABEL_HEIGHT,
    LABEL_WIDTH,
    LITHIUM_MARK_HEIGHT,
    LITHIUM_MARK_WIDTH,
    code128_elements,
    direction_elements,
    label_elements,
    lithium_battery_mark,
    lithium_elements,
    matrix_elements,
)
from labels.text_fitting import Paragraph, fit_block

PageFormat = Literal["4x6", "a4"]

PAGE_SIZES: Final[dict[PageFormat, tuple[float, float]]] = {
    "4x6": (LABEL_WIDTH, LABEL_HEIGHT),
    "a4": (mm(210.0), mm(297.0)),
}
A4_MARGIN: Final = mm(10.0)
SERIAL_BAR_HEIGHT: Final = 36.0  # the serial going back, as Code 128 bars on the dispatch slip


def compose_pages(
    description: LabelDescription, page_format: PageFormat, catalogue: Catalogue | None = None
) -> tuple[Page, ...]:
    """The laid-out pages of one label document, in the description's language unless `catalogue` is given."""
    catalogue = catalogue or Catalogue(description.language)
    if page_format == "4x6":
        return _thermal_pages(description, catalogue)
    return _a4_pages(description, catalogue)


def _thermal_pages(description: LabelDescription, catalogue: Catalogue) -> tuple[Page, ...]:
    width, height = PAGE_SIZES["4x6"]
    page_box = Box(0.0, 0.0, width, height)
    pieces = description.pieces()
    pages: list[Page] = []
    if description.carrier_label is None:
        pages += [Page(width, height, label_elements(piece, catalogue, page_box)) for piece in pieces]
    else:
        # The carrier's label is the first piece's; further pieces get ours, then the intake page follows.
        pages.append(Page(width, height, (ImageSlot(page_box),)))
        pages += [Page(width, height, label_elements(piece, catalogue, page_box)) for piece in pieces[1:]]
        pages.append(Page(width, height, _intake_elements(description, catalogue, page_box)))
    if description.dispatch is not None:
        pages.append(Page(width, height, _dispatch_slip_elements(description, catalogue, page_box.inset(12.0))))
    if description.lithium_mark_required:
        pages.append(Page(width, height, tuple(_lithium_sticker(catalogue, page_box.inset(4.0)))))
    return tuple(pages)


def _lithium_sticker(catalogue: Catalogue, area: Box) -> list[Element]:
    """The regulated lithium battery mark inside a dashed cut frame, with what to do with it above."""
    frame = Box(
        area.x + (area.width - LITHIUM_MARK_WIDTH) / 2 - 3.0,
        area.top - LITHIUM_MARK_HEIGHT - 6.0,
        LITHIUM_MARK_WIDTH + 6.0,
        LITHIUM_MARK_HEIGHT + 6.0,
    )
    caption = Box(area.x, area.y, area.width, frame.y - area.y - 6.0)
    return [
        *lithium_battery_mark(frame.inset(3.0)),
        Frame(frame, dashed=True),
        fit_block([Paragraph(f"✂ {catalogue.text('lithium_sticker')}", "bold")], caption, max_size=10.0, min_size=5.0),
    ]


def _dispatch_slip_elements(description: LabelDescription, catalogue: Catalogue, area: Box) -> tuple[Element, ...]:
    """The dispatch slip's text and, when the serial fits a Code 128, the serial going back as bars."""
    assert description.dispatch is not None
    serial = description.dispatch.replacement_serial or (
        description.device.serial_number if description.device else None
    )
    elements: list[Element] = []
    text_box = area
    if serial is not None:
        bars_box = Box(area.x, area.y, min(area.width, 300.0), SERIAL_BAR_HEIGHT)
        try:
            elements.append(code128_elements(serial, bars_box))
            text_box = Box(area.x, bars_box.top + 6.0, area.width, area.height - SERIAL_BAR_HEIGHT - 6.0)
        except BarcodeEncodingError:
            pass  # too long or not ASCII for bars: the serial is printed as text all the same
    elements.append(fit_block(dispatch_slip_paragraphs(description, catalogue), text_box, max_size=11.0, min_size=4.5))
    return tuple(elements)


def _intake_elements(description: LabelDescription, catalogue: Catalogue, page_box: Box) -> tuple[Element, ...]:
    inner = page_box.inset(10.0)
    header = Box(inner.x, inner.top - 44.0, inner.width, 44.0)
    elements: list[Element] = [
        fit_block(
            [Paragraph(catalogue.text("case_reference"), "bold", 0.6), Paragraph(description.case_reference, "bold")],
            Box(header.x, header.y, header.width - 104.0, header.height),
            max_size=16.0,
            min_size=5.0,
        ),
        *direction_elements(description, catalogue, Box(header.right - 100.0, header.y, 100.0, header.height)),
    ]
    side = min(inner.width, 150.0)
    matrix_box = Box(inner.x + (inner.width - side) / 2, header.y - 8.0 - side, side, side)
    elements.append(matrix_elements(description.intake_payload, matrix_box))
    caption_top = matrix_box.y - 4.0
    if description.contains_lithium_battery:
        mark = Box(inner.x, inner.y, inner.width, 58.0)
        elements += lithium_elements(catalogue, mark)
        text_bottom = mark.top + 4.0
    else:
        text_bottom = inner.y
    elements.append(
        fit_block(
            [
                Paragraph(catalogue.text("intake_code"), "bold"),
                Paragraph(catalogue.text("carrier_label_follows"), space_before=0.4),
                Paragraph(catalogue.text("backup"), space_before=0.4),
            ],
            Box(inner.x, text_bottom, inner.width, caption_top - text_bottom),
            max_size=9.0,
            min_size=4.0,
        )
    )
    return tuple(elements)


def _a4_pages(description: LabelDescription, catalogue: Catalogue) -> tuple[Page, ...]:
    """One page per piece with its label at true size; the first also carries, below the cut guidance, the
    customer's instructions (inbound) or the dispatch slip (outbound). The packing slip follows, inbound."""
    width, height = PAGE_SIZES["a4"]
    label_box = Box(A4_MARGIN, height - A4_MARGIN - LABEL_HEIGHT, LABEL_WIDTH, LABEL_HEIGHT)
    pages: list[Page] = []
    for index, piece in enumerate(description.pieces()):
        first = index == 0
        elements: list[Element] = []
        if description.carrier_label is not None and first:
            elements.append(ImageSlot(label_box))
        else:
            elements += label_elements(piece, catalogue, label_box)
        elements += _cut_guidance(label_box, catalogue)
        side = Box(label_box.right + mm(8.0), label_box.y, width - A4_MARGIN - label_box.right - mm(8.0), LABEL_HEIGHT)
        body = Box(A4_MARGIN, A4_MARGIN, width - 2 * A4_MARGIN, label_box.y - mm(14.0) - A4_MARGIN)
        if description.is_return and first:
            matrix_side = 110.0
            elements.append(matrix_elements(description.intake_payload, Box(side.x, side.y, matrix_side, matrix_side)))
            elements.append(
                fit_block(
                    logistics_paragraphs(description, catalogue),
                    Box(side.x, side.y + matrix_side + 8.0, side.width, side.height - matrix_side - 8.0),
                    max_size=11.0,
                    min_size=5.0,
                )
            )
            elements.append(fit_block(packing_paragraphs(description, catalogue), body, max_size=10.0, min_size=5.0))
        elif description.dispatch is not None and first:
            elements += _dispatch_slip_elements(description, catalogue, body)
        pages.append(Page(width, height, tuple(elements)))
    if description.is_return:
        pages.append(_packing_slip_page(description, catalogue))
    if description.lithium_mark_required:
        sticker = Box(A4_MARGIN, A4_MARGIN, width - 2 * A4_MARGIN, LITHIUM_MARK_HEIGHT + mm(30.0))
        if description.is_return:
            # Below the packing slip, which keeps to the top of its page.
            last = pages[-1]
            pages[-1] = Page(width, height, (*last.elements, *_lithium_sticker(catalogue, sticker)))
        else:
            pages.append(Page(width, height, tuple(_lithium_sticker(catalogue, sticker))))
    return tuple(pages)


def _cut_guidance(label_box: Box, catalogue: Catalogue) -> list[Element]:
    """A dashed frame around the label alone, and under it what to do: the rest of the page is not cut."""
    frame = Box(label_box.x - 3.0, label_box.y - 3.0, label_box.width + 6.0, label_box.height + 6.0)
    return [
        Frame(frame, dashed=True),
        fit_block(
            [Paragraph(f"✂ {catalogue.text('cut_line')}", "bold")],
            Box(frame.x, frame.y - mm(8.0), PAGE_SIZES["a4"][0] - 2 * A4_MARGIN, mm(6.0)),
            max_size=8.0,
            min_size=4.5,
        ),
    ]


def _packing_slip_page(description: LabelDescription, catalogue: Catalogue) -> Page:
    width, height = PAGE_SIZES["a4"]
    slip_area = Box(A4_MARGIN, A4_MARGIN, width - 2 * A4_MARGIN, height - 2 * A4_MARGIN)
    slip_matrix = matrix_elements(
        description.intake_payload, Box(slip_area.right - 120.0, slip_area.top - 120.0, 120.0, 120.0)
    )
    slip = fit_block(
        packing_slip_paragraphs(description, catalogue),
        Box(slip_area.x, slip_area.top - 470.0, slip_area.width - 130.0, 470.0),
        max_size=12.0,
        min_size=6.0,
    )
    return Page(width, height, (slip_matrix, slip))
