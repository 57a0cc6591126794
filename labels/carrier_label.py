"""Placing the carrier's own label (PNG, GIF or PDF) in our document, unchanged.

Only the carrier can mint its tracking numbers, MaxiCode and routing barcodes, so its label is shown as
issued: raster images become an image XObject at their own pixels, a PDF label's first page becomes a
form XObject (vector, so its barcodes stay sharp). The page layout scales either to fit its slot. PDF
labels are read with pypdf, imported on first use; raster ones with Pillow (a bilevel label stays one bit
per pixel). This
module must not redraw, crop or re-encode the carrier's barcodes.
"""

from __future__ import annotations

import functools
import io
import zlib
from dataclasses import dataclass

from labels.description import CarrierLabelImage
from labels.errors import CarrierLabelError
from labels.pdf_document import PdfDocument, number


@dataclass(frozen=True)
class PlacedLabel:
    """An XObject in a document and its natural size in its own units (pixels or points)."""

    reference: int
    width: float
    height: float
    is_form: bool


def add_carrier_label(document: PdfDocument, label: CarrierLabelImage) -> PlacedLabel:
    """Add `label` to `document` as one XObject."""
    if label.content_type == "application/pdf":
        return _add_pdf_page(document, label.data)
    return _add_raster(document, label.data)


def _add_raster(document: PdfDocument, data: bytes) -> PlacedLabel:
    entries, stream, width, height = _raster_xobject(data)
    reference = document.add_compressed_stream(entries, stream)
    return PlacedLabel(reference, float(width), float(height), is_form=False)


@functools.lru_cache(maxsize=64)
def _raster_xobject(data: bytes) -> tuple[bytes, bytes, int, int]:
    """The image XObject of a raster label: dictionary entries, compressed stream, width and height.

    Carriers' raster labels are black on white: a bilevel image (a UPS GIF has two colours) is embedded at
    one bit per pixel, 24 times less to compress than RGB; anything else as 8-bit grey or RGB. Decoding and
    compressing cost far more than the rest of a label, so the result is kept for the last images seen (a
    label's two paper formats, and its renders after the document cache let it go, share one conversion).
    Pillow decodes (reportlab's own image reader uses it too)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image: Image.Image = opened
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CarrierLabelError(f"cannot read the carrier label image: {exc}") from exc
    width, height = image.size
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Alpha is dropped onto white: carriers' labels are opaque black on white.
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        white.alpha_composite(image.convert("RGBA"))
        image = white.convert("RGB")
    if image.mode == "P":
        palette = image.getpalette() or []
        used = [index for _, index in image.getcolors(maxcolors=256) or [] if isinstance(index, int)]
        colours = {tuple(palette[3 * i : 3 * i + 3]) for i in used}
        bilevel = colours <= {(0, 0, 0), (255, 255, 255)}
        image = image.convert("L").convert("1", dither=Image.Dither.NONE) if bilevel else image.convert("RGB")
    elif image.mode == "L":
        levels = [value for value, count in enumerate(image.histogram()) if count]
        if set(levels) <= {0, 255}:
            image = image.convert("1", dither=Image.Dither.NONE)
    elif image.mode not in ("1", "RGB"):
        image = image.convert("RGB")
    if image.mode == "1":
        colour_space, bits = b"/DeviceGray", 1  # packed rows, 1 = white: as PDF reads DeviceGray
    elif image.mode == "L":
        colour_space, bits = b"/DeviceGray", 8
    else:
        colour_space, bits = b"/DeviceRGB", 8
    entries = b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d" % (
        width,
        height,
        colour_space,
        bits,
    )
    return entries + b" /Filter /FlateDecode", zlib.compress(image.tobytes(), 6), width, height


def _add_pdf_page(document: PdfDocument, data: bytes) -> PlacedLabel:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise CarrierLabelError("PDF carrier labels need the pypdf package") from exc
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if not reader.pages:
            raise CarrierLabelError("the carrier label PDF has no page")
        page = reader.pages[0]
        box = page.mediabox
        llx, lly, urx, ury = float(box.left), float(box.bottom), float(box.right), float(box.top)
        contents = page.get_contents()
        content = contents.get_data() if contents is not None else b""
        copier = _ObjectCopier(document)
        resources = page.get("/Resources")
        resources_pdf = copier.copy(resources) if resources is not None else b"<< >>"
        rotation = int(page.get("/Rotate", 0) or 0) % 360
    except CarrierLabelError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise CarrierLabelError(f"cannot read the carrier label PDF: {exc}") from exc
    width, height = urx - llx, ury - lly
    matrix, shown_width, shown_height = _rotation_matrix(rotation, llx, lly, width, height)
    reference = document.add_stream(
        b"/Type /XObject /Subtype /Form /BBox [%s %s %s %s] /Matrix [%s] /Resources %s"
        % (number(llx), number(lly), number(urx), number(ury), b" ".join(number(v) for v in matrix), resources_pdf),
        content,
    )
    return PlacedLabel(reference, shown_width, shown_height, is_form=True)


def _rotation_matrix(
    rotation: int, llx: float, lly: float, width: float, height: float
) -> tuple[tuple[float, ...], float, float]:
    # The form is normalised to start at (0, 0) and turned the way a viewer shows a /Rotate page.
    if rotation == 90:
        return (0.0, -1.0, 1.0, 0.0, -lly, width + llx), height, width
    if rotation == 180:
        return (-1.0, 0.0, 0.0, -1.0, width + llx, height + lly), width, height
    if rotation == 270:
        return (0.0, 1.0, -1.0, 0.0, height + lly, -llx), height, width
    return (1.0, 0.0, 0.0, 1.0, -llx, -lly), width, height


class _ObjectCopier:
    """Copies pypdf objects into our document, renumbering indirect objects once each."""

    def __init__(self, document: PdfDocument) -> None:
        self._document = document
        self._numbers: dict[tuple[int, int], int] = {}

    def copy(self, value: object) -> bytes:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject, StreamObject

        if isinstance(value, IndirectObject):
            key = (value.idnum, value.generation)
            if key not in self._numbers:
                reserved = self._document.reserve()
                self._numbers[key] = reserved
                self._document.put(reserved, self.copy(value.get_object()))
            return b"%d 0 R" % self._numbers[key]
        if isinstance(value, StreamObject):
            entries = b" ".join(self.copy(k) + b" " + self.copy(v) for k, v in value.items() if k != "/Length")
            encoded = value._data  # the stream as stored: image codecs (DCT, CCITT) stay untouched
            return b"<< " + entries + b" /Length %d >>\nstream\n" % len(encoded) + encoded + b"\nendstream"
        if isinstance(value, DictionaryObject):
            return b"<< " + b" ".join(self.copy(k) + b" " + self.copy(v) for k, v in value.items()) + b" >>"
        if isinstance(value, ArrayObject):
            return b"[" + b" ".join(self.copy(item) for item in value) + b"]"
        if isinstance(value, PdfObject):
            buffer = io.BytesIO()
            value.write_to_stream(buffer)
            return buffer.getvalue()
        raise CarrierLabelError(f"unexpected object in the carrier label PDF: {type(value).__name__}")
