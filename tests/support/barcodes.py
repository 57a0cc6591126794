"""Read the barcodes of a PDF as a scanner would: rasterise each page at 203 dpi, then decode."""

from __future__ import annotations

import pypdfium2
import zxingcpp

THERMAL_DPI = 203


def decode_pdf(pdf: bytes, dpi: int = THERMAL_DPI) -> list[tuple[str, str]]:
    """Every barcode on every page, as (format name, text)."""
    return [code for page in decode_pages(pdf, dpi) for code in page]


def decode_pages(pdf: bytes, dpi: int = THERMAL_DPI) -> list[list[tuple[str, str]]]:
    """The barcodes of each page, page by page, as (format name, text)."""
    pages: list[list[tuple[str, str]]] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72).to_pil()
            pages.append([(barcode.format.name, barcode.text) for barcode in zxingcpp.read_barcodes(image)])
            page.close()
    finally:
        document.close()
    return pages
