"""A carrier-issued label is shown as issued, scaled to fit, and our intake page follows it."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas

from labels import CarrierLabelError, CarrierLabelImage, render_label
from labels.pages import PageFormat
from tests.labels.label_builders import description
from tests.labels.pdf_reading import scan

CARRIER_TRACKING = "1ZCARRIER0000042"


def _raster_label(image_format: str, mode: str = "L") -> bytes:
    # A carrier-like raster label: white 4×6 at 203 dpi with the carrier's own Code 128 on it.
    symbol = zxingcpp.create_barcode(CARRIER_TRACKING, zxingcpp.BarcodeFormat.Code128)
    bars = Image.fromarray(symbol.to_image(scale=3)).resize((189 * 3 + 60, 160))
    page = Image.new("L", (812, 1218), 255)
    page.paste(bars, ((812 - bars.width) // 2, 700))
    out = io.BytesIO()
    page.convert(mode).save(out, format=image_format)
    return out.getvalue()


def _pdf_label(rotate: int = 0) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(288, 432), invariant=1)
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(20, 400, "CARRIER EXPRESS")
    Code128(CARRIER_TRACKING, barWidth=1.2, barHeight=60, humanReadable=True).drawOn(canvas, 20, 200)
    if rotate:
        canvas.setPageRotation(rotate)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/png", _raster_label("PNG")),
        ("image/png", _raster_label("PNG", mode="RGBA")),
        ("image/gif", _raster_label("GIF", mode="P")),
        ("application/pdf", _pdf_label()),
        ("application/pdf", _pdf_label(rotate=90)),
    ],
    ids=["png-grey", "png-rgba", "gif", "pdf", "pdf-rotated"],
)
def test_thermal_page_shows_the_carrier_label_then_our_intake_page(content_type: str, data: bytes) -> None:
    label = description(carrier_label=CarrierLabelImage(content_type=content_type, data=data))

    carrier_page, intake_page = scan(render_label(label, "4x6"))

    assert carrier_page.code128 == (CARRIER_TRACKING,)
    assert label.tracking_number not in carrier_page.code128  # not redrawn by us
    assert intake_page.datamatrix == (label.intake_payload,)
    assert label.case_reference in intake_page.text
    assert "RETOUR" in intake_page.text


@pytest.mark.parametrize("content_type", ["image/png", "application/pdf"])
def test_a4_pack_puts_the_carrier_label_in_the_label_area(content_type: str) -> None:
    data = _raster_label("PNG") if content_type == "image/png" else _pdf_label()
    label = description(carrier_label=CarrierLabelImage(content_type=content_type, data=data))

    first, slip = scan(render_label(label, "a4"))

    assert first.code128 == (CARRIER_TRACKING,)
    assert set(first.datamatrix) == {label.intake_payload}
    assert "Bordereau de colisage" in slip.text


def test_carrier_pdf_pass_through_is_deterministic() -> None:
    label = description(carrier_label=CarrierLabelImage(content_type="application/pdf", data=_pdf_label()))

    assert render_label(label, "4x6") == render_label(label, "4x6")


@pytest.mark.parametrize("content_type", ["image/png", "image/gif", "application/pdf"])
def test_unreadable_carrier_label_is_a_render_error(content_type: str) -> None:
    label = description(carrier_label=CarrierLabelImage(content_type=content_type, data=b"not an image"))

    with pytest.raises(CarrierLabelError):
        render_label(label, "4x6")


@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_a_landscape_carrier_label_is_turned_upright_to_fill_its_slot(page_format: PageFormat) -> None:
    # UPS issues its GIF labels lying on their left side; shown as issued they would print small and sideways.
    upright = Image.open(io.BytesIO(_raster_label("GIF", mode="P")))
    lying = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(lying, format="GIF")
    pages = {}
    for name, data in (("upright", _raster_label("GIF", mode="P")), ("lying", lying.getvalue())):
        label = description(carrier_label=CarrierLabelImage(content_type="image/gif", data=data))
        document = pdfium.PdfDocument(render_label(label, page_format))
        try:
            image = document[0].render(scale=203 / 72, grayscale=True).to_pil()
        finally:
            document.close()
        (found,) = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.Code128]
        pages[name] = found

    assert pages["lying"].text == CARRIER_TRACKING
    assert pages["lying"].orientation == pages["upright"].orientation == 0  # bars upright, as printed
    width = pages["lying"].position.top_right.x - pages["lying"].position.top_left.x
    assert width == pytest.approx(pages["upright"].position.top_right.x - pages["upright"].position.top_left.x, abs=3)
