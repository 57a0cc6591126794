"""Parcel labels for the repair logistics service: a frozen description in, PDF bytes out.

The package is a pure, synchronous library. It knows nothing of the service, the carriers' APIs or any
event loop; it depends on pydantic, reportlab (TrueType parsing and raster images), zxing-cpp (barcode
encoding), python-bidi and arabic-reshaper (Hebrew and Arabic lines in drawing order) and, for carrier
labels issued as PDF, pypdf.

    pdf = render_label(description, "4x6")   # thermal 101.6 × 152.4 mm
    pdf = render_label(description, "a4")    # label, cut line, instructions, packing slip

Nothing here does I/O at import time: fonts and message catalogues are read on first use.
"""

from labels.catalogue import SUPPORTED_LANGUAGES
from labels.description import (
    CarrierLabelImage,
    DeviceInfo,
    DispatchSlip,
    LabelAddress,
    LabelDescription,
    PackedItem,
    PackingInstructions,
    PickupInfo,
    SupportHours,
)
from labels.errors import BarcodeEncodingError, CarrierLabelError, FontUnavailableError, LabelRenderError
from labels.instructions import support_hours_text
from labels.pages import PAGE_SIZES, PageFormat
from labels.rendering import render_label, warm_up
from labels.repertoire import unprintable

__all__ = [
    "PAGE_SIZES",
    "SUPPORTED_LANGUAGES",
    "BarcodeEncodingError",
    "CarrierLabelError",
    "CarrierLabelImage",
    "DeviceInfo",
    "DispatchSlip",
    "FontUnavailableError",
    "LabelAddress",
    "LabelDescription",
    "LabelRenderError",
    "PackedItem",
    "PackingInstructions",
    "PageFormat",
    "PickupInfo",
    "SupportHours",
    "render_label",
    "support_hours_text",
    "unprintable",
    "warm_up",
]
