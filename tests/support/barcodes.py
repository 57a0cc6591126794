"""Read the barcodes of a PDF as a scanner would: rasterise each page at 203 dpi, then decode."""

from __future__ import annotations

import pypdfium2
import zxingcpp

THERMAL_DPI = 203


def decode_pdf(pdf: bytes, dpi: int = THERMAL_DPI) -> list[tuple[str, str]]:
    """Every barcode on every page, as (format name, text)."""
    found: list[tuple[str, str]] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72).to_pil()
            for barcode in zxingcpp.read_barcodes(image):
                found.append((barcode.format.name, barcode.text))
            page.close()
    finally:
        document.close()
    return found
