"""Geometry of the parcel label itself (the 4×6 in area), computed without drawing.

`label_elements` places every field of a `LabelDescription` in a 101.6 × 152.4 mm area at any position
on a page: carrier and service, RETURN mark, sender, lithium mark, recipient, routing code, weight,
piece n of m, ship date, the Code 128 tracking barcode with its text, the DataMatrix intake code and the
case reference. Symbols get whole 203 dpi printer dots per module and 10-module quiet zones (1 module
for DataMatrix, plus margin). Text is fitted by `text_fitting`. This module must not draw or do I/O.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Final

from labels.catalogue import Catalogue
from labels.description import LabelAddress, LabelDescription
from labels.errors import BarcodeEncodingError
from labels.geometry import (
    PRINTER_DOT,
    Bars,
    Box,
    Element,
    Frame,
    HatchedBorder,
    Polygon,
    Rule,
    TextBlock,
    TextLine,
    mm,
)
from labels.symbols import code128, datamatrix
from labels.text_fitting import Paragraph, fit_block, fit_line

LABEL_WIDTH: Final = mm(101.6)
LABEL_HEIGHT: Final = mm(152.4)
MARGIN: Final = 8.0
PADDING: Final = 2.0
CODE128_QUIET_MODULES: Final = 10
DATAMATRIX_QUIET_MODULES: Final = 1
MIN_DOTS_PER_MODULE: Final = 2  # 0.25 mm: the thinnest bar a 203 dpi printer draws reliably
MAX_DOTS_PER_MODULE: Final = 3  # 0.375 mm for Code 128 when it fits
MAX_MATRIX_DOTS: Final = 8  # 1 mm modules: larger is easier to scan, no need beyond
CODE128_BAR_HEIGHT: Final = 44.0  # 15.5 mm, above the 12.7 mm carriers ask for

# Row heights from the top of the label, in points; they add up to the label height with the margins.
_ROWS: Final = (("header", 40.0), ("sender", 70.0), ("recipient", 112.0), ("info", 40.0), ("tracking", 76.0))


def label_elements(description: LabelDescription, catalogue: Catalogue, origin: Box) -> tuple[Element, ...]:
    """All elements of the label placed in `origin` (a 4×6 in box, bottom-left based)."""
    inner = origin.inset(MARGIN)
    rows: dict[str, Box] = {}
    top = inner.top
    for name, height in _ROWS:
        rows[name] = Box(inner.x, top - height, inner.width, height)
        top -= height
    rows["intake"] = Box(inner.x, inner.y, inner.width, top - inner.y)

    elements: list[Element] = []
    elements += _header(description, catalogue, rows["header"])
    elements += _sender(description, catalogue, rows["sender"])
    elements.append(
        _address_block(description.recipient, catalogue, "recipient", rows["recipient"].inset(PADDING), 12.0)
    )
    elements += _info(description, catalogue, rows["info"])
    elements += _tracking(description, catalogue, rows["tracking"])
    elements += _intake(description, catalogue, rows["intake"])
    for name, _ in _ROWS:
        row = rows[name]
        elements.append(Rule(row.x, row.y, row.right, row.y, width=0.8))
    elements.append(Frame(origin.inset(MARGIN / 2), line_width=1.2))
    return tuple(elements)


def direction_elements(description: LabelDescription, catalogue: Catalogue, box: Box) -> list[Element]:
    """The RETURN mark (inbound) or the outbound direction, filling `box`."""
    direction = catalogue.text(f"direction_{description.direction}")
    if not description.is_return:
        return [fit_block([Paragraph(direction, "bold")], box, max_size=9.0, min_size=5.0, align="centre")]
    mark = Box(box.x, box.y + box.height * 0.4, box.width, box.height * 0.6)
    caption = Box(box.x, box.y, box.width, box.height * 0.4 - 1.0)
    word = fit_line(
        catalogue.text("return_mark"), mark.inset(3.0, 2.0), weight="bold", max_size=18.0, min_size=6.0, align="centre"
    )
    white = TextBlock(word.box, tuple(_whitened(line) for line in word.lines), word.truncated)
    return [
        Frame(mark, filled=True),
        white,
        fit_block([Paragraph(direction)], caption, max_size=7.0, min_size=4.0, align="centre"),
    ]


def lithium_elements(catalogue: Catalogue, box: Box) -> list[Element]:
    """The UN3481 handling mark: lithium-ion batteries contained in equipment."""
    frame = Frame(box, line_width=2.0, dashed=True)
    text = fit_block(
        [
            Paragraph("UN3481", "bold", 1.6),
            Paragraph(catalogue.text("lithium_mark"), "bold"),
            Paragraph(catalogue.text("lithium_handle"), scale=0.85, space_before=0.2),
        ],
        box.inset(4.0),
        max_size=8.0,
        min_size=3.5,
        align="centre",
    )
    return [frame, text]


LITHIUM_MARK_WIDTH: Final = mm(100.0)  # the smallest size the regulations allow (ADR 5.2.1.9, IATA 7.1.5.5)
LITHIUM_MARK_HEIGHT: Final = mm(70.0)
LITHIUM_MARK_HATCHING: Final = mm(5.0)


def lithium_battery_mark(box: Box) -> list[Element]:
    """The lithium battery mark at its smallest regulated size (100 × 70 mm), centred in `box`: a red hatched
    edge 5 mm wide, a pictogram of batteries, one of them burning, and the UN number UN3481."""
    mark = Box(
        box.x + (box.width - LITHIUM_MARK_WIDTH) / 2,
        box.y + (box.height - LITHIUM_MARK_HEIGHT) / 2,
        LITHIUM_MARK_WIDTH,
        LITHIUM_MARK_HEIGHT,
    )
    inner = mark.inset(LITHIUM_MARK_HATCHING)
    elements: list[Element] = [
        Frame(mark, line_width=0.5),
        HatchedBorder(mark, LITHIUM_MARK_HATCHING, mm(1.5)),
        Frame(inner, line_width=0.5),
    ]
    picture = Box(inner.x + inner.width * 0.2, inner.y + inner.height * 0.42, inner.width * 0.6, inner.height * 0.5)
    cell_width, cell_height = picture.width / 5, picture.height * 0.7
    for index in range(3):  # three cells side by side, each with its terminal
        cell = Box(picture.x + index * cell_width * 1.25, picture.y, cell_width, cell_height)
        elements.append(Frame(cell, line_width=1.2))
        elements.append(
            Frame(Box(cell.x + cell_width * 0.3, cell.top, cell_width * 0.4, cell_height * 0.08), filled=True)
        )
    # The flame rising from the last cell: a filled outline of three tongues.
    base_x, base_y, w, h = picture.x + 2 * cell_width * 1.25, picture.y + cell_height * 0.9, cell_width, picture.height
    elements.append(
        Polygon(
            (
                (base_x, base_y),
                (base_x + w * 0.1, base_y + h * 0.35),
                (base_x + w * 0.3, base_y + h * 0.2),
                (base_x + w * 0.5, base_y + h * 0.45),
                (base_x + w * 0.7, base_y + h * 0.2),
                (base_x + w * 0.9, base_y + h * 0.35),
                (base_x + w, base_y),
            ),
            filled=True,
        )
    )
    elements.append(
        fit_line(
            "UN3481",
            Box(inner.x, inner.y + mm(2.0), inner.width, inner.height * 0.36),
            weight="bold",
            max_size=28.0,
            min_size=12.0,
            align="centre",
        )
    )
    return elements


def matrix_elements(payload: str, box: Box) -> Bars:
    """The DataMatrix of `payload`, as large as `box` allows in whole printer dots, top-left aligned."""
    symbol = datamatrix(payload)
    span = max(symbol.columns, symbol.rows) + 2 * DATAMATRIX_QUIET_MODULES
    dots = min(MAX_MATRIX_DOTS, math.floor(min(box.width, box.height) / span / PRINTER_DOT + 1e-9))
    if dots < MIN_DOTS_PER_MODULE:
        raise BarcodeEncodingError("the intake payload needs a larger DataMatrix than the label has room for")
    module = dots * PRINTER_DOT
    x0 = _on_dot_grid(box.x)
    outer = Box(x0, box.top - span * module, span * module, span * module)
    quiet = DATAMATRIX_QUIET_MODULES * module
    return Bars(outer, x0 + quiet, outer.y + quiet, module, module, symbol.runs, payload)


def code128_elements(text: str, box: Box) -> Bars:
    """Code 128 bars of `text`, centred in `box` with 10-module quiet zones, modules of whole dots."""
    symbol = code128(text)
    total = symbol.modules + 2 * CODE128_QUIET_MODULES
    dots = min(MAX_DOTS_PER_MODULE, math.floor(box.width / total / PRINTER_DOT + 1e-9))
    if dots < MIN_DOTS_PER_MODULE:
        raise BarcodeEncodingError(f"tracking number {text!r} is too long for a readable Code 128 on this label")
    module = dots * PRINTER_DOT
    width = total * module
    x0 = _on_dot_grid(box.x + (box.width - width) / 2)
    x_bars = x0 + CODE128_QUIET_MODULES * module
    return Bars(Box(x0, box.y, width, box.height), x_bars, box.y, module, box.height, symbol.bars, text)


def grouped_for_reading(number: str) -> str:
    """A tracking number in groups of four, as people read it out ("1Z99 9AA1 0123 4567 84"); the bars
    carry it whole."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def format_weight(weight: Decimal, catalogue: Catalogue) -> str:
    text = f"{weight.quantize(Decimal('0.1')) if weight >= 1 else weight.normalize():f}"
    return f"{text.replace('.', catalogue.text('decimal_separator'))} kg"


def address_paragraphs(address: LabelAddress, catalogue: Catalogue, *, emphasis: float) -> list[Paragraph]:
    """Name, company, street lines, postcode and city, country and phone, in that order."""
    paragraphs = [Paragraph(address.name, "bold", emphasis)]
    if address.company:
        paragraphs.append(Paragraph(address.company, "bold" if emphasis > 1 else "regular"))
    paragraphs += [Paragraph(line) for line in address.street_lines]
    paragraphs.append(Paragraph(f"{address.postal_code} {address.city}", "bold", emphasis))
    paragraphs.append(Paragraph(address.country, "bold"))
    paragraphs.append(Paragraph(f"{catalogue.text('phone')} {address.phone}"))
    return paragraphs


def _address_block(address: LabelAddress, catalogue: Catalogue, role: str, box: Box, max_size: float) -> TextBlock:
    emphasis = 1.2 if role == "recipient" else 1.0
    heading = Paragraph(catalogue.text(role), "bold", 0.7)
    return fit_block(
        [heading, *address_paragraphs(address, catalogue, emphasis=emphasis)],
        box,
        max_size=max_size,
        min_size=4.5,
    )


def _header(description: LabelDescription, catalogue: Catalogue, row: Box) -> list[Element]:
    mark_width = 100.0
    carrier = Box(row.x, row.y, row.width - mark_width - PADDING, row.height).inset(PADDING)
    mark = Box(row.right - mark_width, row.y, mark_width, row.height).inset(PADDING)
    elements: list[Element] = [
        fit_block(
            [
                Paragraph(description.carrier_name, "bold"),
                Paragraph(description.service_name or catalogue.text(f"service_{description.direction}"), scale=0.65),
            ],
            carrier,
            max_size=16.0,
            min_size=5.0,
        )
    ]
    elements += direction_elements(description, catalogue, mark)
    return elements


def _sender(description: LabelDescription, catalogue: Catalogue, row: Box) -> list[Element]:
    mark_width = 90.0
    address = Box(row.x, row.y, row.width - mark_width, row.height).inset(PADDING)
    elements: list[Element] = [_address_block(description.sender, catalogue, "sender", address, 8.0)]
    if description.contains_lithium_battery:
        elements += lithium_elements(
            catalogue, Box(row.right - mark_width, row.y, mark_width, row.height).inset(PADDING)
        )
    return elements


def _info(description: LabelDescription, catalogue: Catalogue, row: Box) -> list[Element]:
    half = row.width / 2
    routing = Box(row.x, row.y, half, row.height).inset(PADDING)
    facts = Box(row.x + half, row.y, half, row.height).inset(PADDING)
    elements: list[Element] = []
    if description.routing_code:
        elements.append(
            fit_block(
                [Paragraph(catalogue.text("routing_code"), "bold", 0.35), Paragraph(description.routing_code, "bold")],
                routing,
                max_size=20.0,
                min_size=5.0,
            )
        )
    elements.append(
        fit_block(
            [
                Paragraph(f"{catalogue.text('weight')}: {format_weight(description.weight_kg, catalogue)}", "bold"),
                Paragraph(
                    catalogue.text("piece", number=description.piece_number, count=description.piece_count), "bold"
                ),
                Paragraph(f"{catalogue.text('ship_date')}: {catalogue.date(description.ship_date)}"),
            ],
            facts,
            max_size=9.0,
            min_size=4.5,
        )
    )
    return elements


def _tracking(description: LabelDescription, catalogue: Catalogue, row: Box) -> list[Element]:
    caption = Box(row.x + PADDING, row.top - 11.0, row.width - 2 * PADDING, 10.0)
    bars = Box(row.x, caption.y - 1.0 - CODE128_BAR_HEIGHT, row.width, CODE128_BAR_HEIGHT)
    number = Box(row.x + PADDING, row.y + 1.0, row.width - 2 * PADDING, bars.y - row.y - 2.0)
    return [
        fit_line(catalogue.text("tracking_number"), caption, weight="regular", max_size=7.0, min_size=4.0),
        code128_elements(description.tracking_number, bars),
        fit_line(
            grouped_for_reading(description.tracking_number),
            number,
            weight="bold",
            max_size=12.0,
            min_size=5.0,
            align="centre",
        ),
    ]


def _intake(description: LabelDescription, catalogue: Catalogue, row: Box) -> list[Element]:
    side = row.height - PADDING
    matrix = matrix_elements(description.intake_payload, Box(row.x, row.y + PADDING / 2, side, side))
    text = Box(row.x + side + 4.0, row.y, row.width - side - 4.0, row.height).inset(PADDING)
    return [
        matrix,
        fit_block(
            [
                Paragraph(catalogue.text("case_reference"), "bold", 0.6),
                Paragraph(description.case_reference, "bold"),
                Paragraph(catalogue.text("intake_code"), scale=0.55, space_before=0.3),
            ],
            text,
            max_size=14.0,
            min_size=5.0,
        ),
    ]


def _on_dot_grid(x: float) -> float:
    # Bars start on a printer dot boundary so every bar is a whole number of dots at 203 dpi.
    return math.ceil(x / PRINTER_DOT - 1e-9) * PRINTER_DOT


def _whitened(line: TextLine) -> TextLine:
    return replace(line, colour="white")
