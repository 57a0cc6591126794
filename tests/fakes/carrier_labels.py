"""Labels as the carriers issue them, drawn by the fake servers: binary images whose barcodes scan.

- UPS's Ship API answers a 4×6 label at 203 dpi as a GIF (PNG from Label Recovery), or as printer code
  (ZPL and the like); its tracking barcode is Code 128 of the 1Z number.
- DHL Express answers PDF labels; the waybill is printed in Code 39 (as on DHL's own labels) beside the
  piece's licence plate in Code 128.

The barcodes are made with zxing-cpp and the PDF with reportlab, not with the service's own label code, so
a label that scans after passing through the service proves the service placed the carrier's label as issued.
"""

from __future__ import annotations

import functools
import io
from typing import Literal

import zxingcpp
from PIL import Image, ImageDraw

DPI = 203
WIDTH_PX, HEIGHT_PX = 4 * DPI, 6 * DPI


def _barcode_image(text: str, symbology: zxingcpp.BarcodeFormat, module_px: int, height_px: int) -> Image.Image:
    barcode = zxingcpp.create_barcode(text, symbology)
    view = memoryview(barcode.to_image(scale=module_px))  # type: ignore[arg-type]  # a buffer, untyped
    assert view.shape is not None
    height, width = view.shape[0], view.shape[1]
    strip = Image.frombuffer("L", (width, height), bytes(view), "raw", "L", 0, 1)
    return strip.resize((width, height_px), Image.Resampling.NEAREST) if height != height_px else strip


def ups_label(
    tracking_number: str, image_format: Literal["GIF", "PNG"], *, ship_to: tuple[str, ...] = (), landscape: bool = False
) -> bytes:
    """A 4×6 UPS label image at 203 dpi with the tracking number in Code 128, as GIF or PNG bytes.

    ``landscape``: the page turned a quarter, as UPS issues its GIF labels (the bars then run along the
    image's rows, and the GIF is about 13 KB instead of 22 KB).
    """
    page = _ups_template(ship_to[:5]).copy()
    draw = ImageDraw.Draw(page)
    spaced = f"{tracking_number[:2]} {tracking_number[2:5]} {tracking_number[5:8]} {tracking_number[8:10]} "
    spaced += f"{tracking_number[10:14]} {tracking_number[14:]}"
    draw.text((30, 390), f"TRACKING #: {spaced}", fill=0, font_size=30)
    bars = _barcode_image(tracking_number, zxingcpp.BarcodeFormat.Code128, 3, 240).convert("1")
    page.paste(bars, ((WIDTH_PX - bars.width) // 2, 460))
    if landscape:
        page = page.transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    if image_format == "GIF":
        page.save(out, format="GIF")
    else:
        page.save(out, format="PNG", optimize=True)
    return out.getvalue()


@functools.lru_cache(maxsize=32)
def _ups_template(ship_to: tuple[str, ...]) -> Image.Image:
    """What a UPS label shows besides its number, drawn once per address (drawing text is the slow part)."""
    page = Image.new("1", (WIDTH_PX, HEIGHT_PX), 1)  # thermal: black dots on white, no grey
    draw = ImageDraw.Draw(page)
    draw.rectangle((8, 8, WIDTH_PX - 9, HEIGHT_PX - 9), outline=0, width=3)
    draw.text((30, 30), "UPS STANDARD", fill=0, font_size=48)
    for index, line in enumerate(("SHIP TO:", *ship_to)):
        draw.text((30, 120 + 34 * index), line, fill=0, font_size=26)
    draw.line((8, 360, WIDTH_PX - 9, 360), fill=0, width=3)
    draw.line((8, 760, WIDTH_PX - 9, 760), fill=0, width=3)
    draw.text((30, 790), "BILLING: P/P", fill=0, font_size=26)
    return page


def ups_zpl(tracking_number: str) -> bytes:
    """The same label in ZPL II, as UPS answers for a thermal printer."""
    return (
        "^XA^PW812^LL1218^FO30,30^A0N,48,48^FDUPS STANDARD^FS"
        f"^FO30,390^A0N,30,30^FDTRACKING #: {tracking_number}^FS"
        f"^FO60,460^BY3^BCN,240,N,N,N^FD{tracking_number}^FS^XZ"
    ).encode("ascii")


def dhl_label_pdf(waybill: str, licence_plate: str, reference: str) -> bytes:
    """A one-page 4×6 DHL Express label as reportlab writes PDF (compressed, binary): the waybill in Code 39."""
    from reportlab.graphics.barcode.code39 import Standard39
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.units import inch
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(4 * inch, 6 * inch), pageCompression=1, invariant=1)
    canvas.setTitle(f"DHL Express waybill {waybill}")
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(16, 6 * inch - 34, "DHL EXPRESS")
    canvas.setFont("Helvetica", 9)
    canvas.drawString(16, 6 * inch - 52, f"Ref: {reference[:35]}")
    canvas.rect(8, 8, 4 * inch - 16, 6 * inch - 16)
    canvas.drawString(16, 248, f"WAYBILL {waybill[:2]} {waybill[2:6]} {waybill[6:]}")
    Standard39(waybill, barWidth=1.1, barHeight=70, checksum=0, quiet=1).drawOn(canvas, 12, 170)
    canvas.drawString(16, 140, f"(J){licence_plate}")
    Code128(licence_plate, barWidth=1.0, barHeight=70, quiet=1).drawOn(canvas, 12, 60)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
