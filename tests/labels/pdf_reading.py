"""Reading rendered labels back the way a printer and a scanner would: raster at 203 dpi, then decode."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

PRINTER_DPI = 203


@dataclass(frozen=True)
class ScannedPage:
    width: float
    height: float
    code128: tuple[str, ...]
    datamatrix: tuple[str, ...]
    text: str


def raster(pdf: bytes, page_index: int, dpi: int = PRINTER_DPI) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        image: Image.Image = document[page_index].render(scale=dpi / 72, grayscale=True).to_pil()
        return image
    finally:
        document.close()


def scan(pdf: bytes) -> list[ScannedPage]:
    """Every page: its size in points, the barcodes zxing-cpp reads at 203 dpi and its text."""
    document = pdfium.PdfDocument(pdf)
    pages: list[ScannedPage] = []
    try:
        for page in document:
            width, height = page.get_size()
            image = page.render(scale=PRINTER_DPI / 72, grayscale=True).to_pil()
            found = zxingcpp.read_barcodes(image)
            text = page.get_textpage().get_text_range()
            pages.append(
                ScannedPage(
                    width=width,
                    height=height,
                    code128=tuple(b.text for b in found if b.format == zxingcpp.BarcodeFormat.Code128),
                    datamatrix=tuple(b.text for b in found if b.format == zxingcpp.BarcodeFormat.DataMatrix),
                    text=text,
                )
            )
    finally:
        document.close()
    return pages
