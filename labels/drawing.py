"""Turning a laid-out `Page` into PDF content-stream operators.

Every symbol is one path of `re` rectangles filled once, in grid units under one transform. Text uses
the document-independent codes of `pdf_fonts`, so a drawn text block is cached and reused by every
label that has it (captions, catalogue texts). Images are placed by the caller (it owns the XObjects);
here an `ImageSlot` becomes a `Do` of the name it is given. This module must not decide positions or
sizes: it writes what the layout decided.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from labels.geometry import Bars, Element, Frame, HatchedBorder, ImageSlot, Page, Polygon, Rule, TextBlock
from labels.pdf_document import number, precise
from labels.pdf_fonts import show

ImagePlacement = tuple[bytes, float, float, bool]  # XObject name, natural width, height, is a form


def page_content(page: Page, images: dict[ImageSlot, ImagePlacement]) -> bytes:
    """Content-stream operators for `page`; `images` maps each slot to its XObject."""
    out: list[bytes] = [b"0 g 0 G"]
    for element in page.elements:
        if isinstance(element, Bars):
            out.append(_bars(element))
        elif isinstance(element, ImageSlot):
            if element in images:
                out.append(_image(element, images[element]))
        else:
            out.append(_cached(element))
    return b"\n".join(out)


@lru_cache(maxsize=8192)
def _cached(element: Element) -> bytes:
    if isinstance(element, TextBlock):
        return _text(element)
    if isinstance(element, Rule):
        dash, undash = (b"[3 2] 0 d ", b" [] 0 d") if element.dashed else (b"", b"")
        return (
            dash
            + number(element.width)
            + b" w %s %s m %s %s l S" % (number(element.x1), number(element.y1), number(element.x2), number(element.y2))
            + undash
        )
    if isinstance(element, Frame):
        box = element.box
        rect = b"%s %s %s %s re" % (number(box.x), number(box.y), number(box.width), number(box.height))
        if element.filled:
            return rect + b" f"
        dash, undash = (b"[3 2] 0 d ", b" [] 0 d") if element.dashed else (b"", b"")
        return dash + number(element.line_width) + b" w " + rect + b" S" + undash
    if isinstance(element, HatchedBorder):
        return _hatched(element)
    if isinstance(element, Polygon):
        path = b" ".join(
            b"%s %s %s" % (number(x), number(y), b"l" if i else b"m") for i, (x, y) in enumerate(element.points)
        )
        return path + (b" h f" if element.filled else b" h %s w S" % number(element.line_width))
    raise TypeError(f"cannot draw {type(element).__name__}")


def _hatched(border: HatchedBorder) -> bytes:
    # Clip to the band between the outer and inner rectangles (even-odd), then fill 45° stripes across it.
    box, band, stripe = border.box, border.band, border.stripe
    out = [b"q", b"1 0 0 rg" if border.colour == "red" else b"0 g"]
    out.append(
        b"%s %s %s %s re %s %s %s %s re W* n"
        % (
            number(box.x),
            number(box.y),
            number(box.width),
            number(box.height),
            number(box.x + band),
            number(box.y + band),
            number(box.width - 2 * band),
            number(box.height - 2 * band),
        )
    )
    offset = -box.height
    while offset < box.width:
        x0 = box.x + offset
        out.append(
            b"%s %s m %s %s l %s %s l %s %s l h f"
            % (
                number(x0),
                number(box.y),
                number(x0 + stripe),
                number(box.y),
                number(x0 + stripe + box.height),
                number(box.top),
                number(x0 + box.height),
                number(box.top),
            )
        )
        offset += 2 * stripe
    out.append(b"Q")
    return b"\n".join(out)


def _text(block: TextBlock) -> bytes:
    out: list[bytes] = []
    for line in block.lines:
        white = line.colour == "white"
        out.append(
            (b"1 g " if white else b"")
            + b"BT %s %s Td " % (number(line.x), number(line.baseline))
            + show(line.weight, number(line.size), line.text)
            + b"ET"
            + (b" 0 g" if white else b"")
        )
    return b"\n".join(out)


def _bars(element: Bars) -> bytes:
    # One transform to the symbol grid, then integer rectangles: small and fast to write.
    transform = b"q %s 0 0 %s %s %s cm\n" % (
        precise(element.unit_x),
        precise(element.unit_y),
        precise(element.origin_x),
        precise(element.origin_y),
    )
    # One formatting call for all runs: the C formatter is far faster than one call per rectangle.
    path = (b"%d %d %d %d re\n" * len(element.runs)) % tuple(itertools.chain.from_iterable(element.runs))
    return transform + path + b"f Q"


def _image(slot: ImageSlot, placement: ImagePlacement) -> bytes:
    """The carrier's label scaled to fit `slot`, centred; a landscape label in a portrait slot is turned a
    quarter clockwise first. UPS issues its GIF labels that way (the 4×6 label lying on its left side, to
    be turned before printing): shown as issued, it would print a third of its size, sideways."""
    name, width, height, is_form = placement
    box = slot.box
    turned = width > height and box.height > box.width
    shown_width, shown_height = (height, width) if turned else (width, height)
    scale = min(box.width / shown_width, box.height / shown_height)
    x = box.x + (box.width - shown_width * scale) / 2
    y = box.y + (box.height - shown_height * scale) / 2
    # An image fills the unit square; a form XObject is drawn in its own point units.
    sx, sy = (scale, scale) if is_form else (width * scale, height * scale)
    if turned:  # (u, v) -> (x + sy * v, y + width * scale - sx * u): a quarter turn clockwise
        return b"q 0 %s %s 0 %s %s cm /%s Do Q" % (
            precise(-sx),
            precise(sy),
            precise(x),
            precise(y + width * scale),
            name,
        )
    return b"q %s 0 0 %s %s %s cm /%s Do Q" % (precise(sx), precise(sy), precise(x), precise(y), name)
