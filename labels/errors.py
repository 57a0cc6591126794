"""The error tree of the label library.

Every failure that happens while turning a valid `LabelDescription` into PDF bytes is a
`LabelRenderError`; callers that only want to know "no label" catch the root. A description that breaks
the published limits never gets this far: pydantic rejects it when it is built (`ValidationError`, a
`ValueError`), so rendering errors are never about user input lengths.

    LabelRenderError
    ├── FontUnavailableError      the shipped typeface is missing or unreadable (a packaging fault)
    ├── BarcodeEncodingError      the 1D or 2D symbol cannot hold the given text
    └── CarrierLabelError         the carrier's label image or PDF cannot be read or placed

None of these is transient: rendering is pure, so retrying the same description fails the same way.
This module must not import anything from the rest of the package.
"""

from __future__ import annotations


class LabelRenderError(Exception):
    """A label description could not be rendered to PDF."""


class FontUnavailableError(LabelRenderError):
    """The typeface shipped with the package cannot be loaded."""


class BarcodeEncodingError(LabelRenderError):
    """A barcode or 2D symbol cannot encode the given content."""


class CarrierLabelError(LabelRenderError):
    """The carrier-issued label (PNG, GIF or PDF) cannot be read or embedded."""
