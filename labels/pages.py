"""Whole pages for each paper format, from the label layout and the instruction texts.

- "4x6" (101.6 × 152.4 mm, thermal): our label on one page; with a carrier-issued label, that label
  scaled to fit on page 1 and our intake page (case, RETURN mark, UN3481, DataMatrix) on page 2.
- "a4" (210 × 297 mm, printed at home): page 1 has the label at its true 4×6 size in the top part with a
  dashed cut line, the case number, pickup or drop-off and support hours beside it, and the packing
  instructions below; page 2 is the packing slip the repair centre checks on receipt.

This module only composes geometry; it must not draw or do I/O.
"""

from __future__ import annotations

from typing import Final, Literal

from labels.catalogue import Catalogue
from labels.description import LabelDescription
from labels.geometry import Box, Element, Frame, ImageSlot, Page, Rule, mm
from labels.instructions import logistics_paragraphs, packing_paragraphs, packing_slip_paragraphs
from labels.layout import (
    LABEL_HEIGHT,
    LABEL_WIDTH,
    direction_elements,
    label_elements,
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
    if description.carrier_label is None:
        return (Page(width, height, label_elements(description, catalogue, page_box)),)
    return (
        Page(width, height, (ImageSlot(page_box),)),
        Page(width, height, _intake_elements(description, catalogue, page_box)),
    )


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
    width, height = PAGE_SIZES["a4"]
    label_box = Box(A4_MARGIN, height - A4_MARGIN - LABEL_HEIGHT, LABEL_WIDTH, LABEL_HEIGHT)
    first: list[Element] = []
    if description.carrier_label is None:
        first += label_elements(description, catalogue, label_box)
    else:
        first.append(ImageSlot(label_box))
    first.append(
        Frame(Box(label_box.x - 3.0, label_box.y - 3.0, label_box.width + 6.0, label_box.height + 6.0), dashed=True)
    )

    side = Box(label_box.right + mm(8.0), label_box.y, width - A4_MARGIN - label_box.right - mm(8.0), LABEL_HEIGHT)
    matrix_side = 110.0
    first.append(matrix_elements(description.intake_payload, Box(side.x, side.y, matrix_side, matrix_side)))
    first.append(
        fit_block(
            logistics_paragraphs(description, catalogue),
            Box(side.x, side.y + matrix_side + 8.0, side.width, side.height - matrix_side - 8.0),
            max_size=11.0,
            min_size=5.0,
        )
    )
    cut_y = label_box.y - mm(6.0)
    first.append(Rule(A4_MARGIN / 2, cut_y, width - A4_MARGIN / 2, cut_y, width=0.6, dashed=True))
    first.append(
        fit_block(
            [Paragraph(f"✂ {catalogue.text('cut_line')}")],
            Box(A4_MARGIN, cut_y - 12.0, width - 2 * A4_MARGIN, 10.0),
            max_size=7.0,
            min_size=4.0,
        )
    )
    body = Box(A4_MARGIN, A4_MARGIN, width - 2 * A4_MARGIN, cut_y - 16.0 - A4_MARGIN)
    first.append(fit_block(packing_paragraphs(description, catalogue), body, max_size=10.0, min_size=5.0))

    slip_area = Box(A4_MARGIN, A4_MARGIN, width - 2 * A4_MARGIN, height - 2 * A4_MARGIN)
    slip_matrix = matrix_elements(
        description.intake_payload, Box(slip_area.right - 120.0, slip_area.top - 120.0, 120.0, 120.0)
    )
    slip = fit_block(
        packing_slip_paragraphs(description, catalogue),
        Box(slip_area.x, slip_area.top - 420.0, slip_area.width - 130.0, 420.0),
        max_size=12.0,
        min_size=6.0,
    )
    return (Page(width, height, tuple(first)), Page(width, height, (slip_matrix, slip)))
