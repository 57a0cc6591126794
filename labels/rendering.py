"""`render_label`: a label description in, PDF bytes out.

Composes the pages, embeds the font subsets the text needs and the carrier's label when there is one,
and writes a PDF whose bytes depend only on the description. Pure and synchronous: no clock, no
randomness, no files written. This module must not know about carriers' APIs or the service.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

from labels.carrier_label import add_carrier_label
from labels.description import LabelAddress, LabelDescription, PackingInstructions
from labels.drawing import page_content
from labels.geometry import ImageSlot, Page, TextBlock
from labels.pages import PageFormat, compose_pages
from labels.pdf_document import PdfDocument, precise
from labels.pdf_fonts import used_characters, write_fonts


def render_label(description: LabelDescription, page_format: PageFormat) -> bytes:
    """The label document for `description` on `page_format` paper, as PDF bytes."""
    if page_format not in ("4x6", "a4"):
        raise ValueError(f"unknown page format {page_format!r}; expected '4x6' or 'a4'")
    pages = compose_pages(description, page_format)
    return write_pdf(pages, description)


def write_pdf(pages: tuple[Page, ...], description: LabelDescription) -> bytes:
    document = PdfDocument()
    catalog = document.reserve()
    page_tree = document.reserve()
    used = used_characters([element for page in pages for element in page.elements if isinstance(element, TextBlock)])
    font_resources = write_fonts(document, used)
    carrier = None
    if description.carrier_label is not None and any(
        isinstance(element, ImageSlot) for page in pages for element in page.elements
    ):
        carrier = add_carrier_label(document, description.carrier_label)

    kids: list[int] = []
    for page in pages:
        slots = [element for element in page.elements if isinstance(element, ImageSlot)]
        images = dict.fromkeys(slots, (b"Im1", carrier.width, carrier.height, carrier.is_form)) if carrier else {}
        # Level 1: page content is mostly numbers; higher levels cost 3x the time for ~10 % fewer bytes.
        content = document.add_stream(b"", page_content(page, images), level=1)
        xobjects = b" /XObject << /Im1 %d 0 R >>" % carrier.reference if carrier and slots else b""
        kids.append(
            document.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /Font %s%s >> /Contents %d 0 R >>"
                % (page_tree, precise(page.width), precise(page.height), font_resources, xobjects, content)
            )
        )
    document.put(
        page_tree,
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % kid for kid in kids) + b"] /Count %d >>" % len(kids),
    )
    document.put(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % page_tree)
    return document.to_bytes(catalog)


def warm_up() -> int:
    """Render a sample label in both formats, so that a fresh worker process has parsed the typeface and
    filled its caches before the first real label; returns the process id (which workers are warm)."""
    address = LabelAddress(
        name="Repair centre",
        street_lines=("1 Repair Way",),
        postal_code="00000",
        city="City",
        country="FR",
        phone="000",
    )
    sample = LabelDescription(
        language="en",
        direction="to_repair_centre",
        carrier_name="Carrier",
        sender=address,
        recipient=address,
        tracking_number="0000000000",
        weight_kg=Decimal("1"),
        piece_number=1,
        piece_count=1,
        ship_date=date(2000, 1, 3),
        case_reference="WARM-UP",
        intake_payload="WARM-UP",
        contains_lithium_battery=True,
        instructions=PackingInstructions(),
    )
    for page_format in ("4x6", "a4"):
        render_label(sample, page_format)
    return os.getpid()
