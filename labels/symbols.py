"""Barcode symbols as geometry: Code 128 bars and DataMatrix module runs, in module units.

zxing-cpp encodes; this module turns its bitmap into runs so the PDF holds one filled rectangle per bar
(Code 128) and one per horizontal run of dark modules (DataMatrix), all in a single path. Sizes in
points are decided by the layout. This module must not draw or choose physical sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import zxingcpp

from labels.errors import BarcodeEncodingError

# zxing-cpp bitmaps are 0 for dark, 255 for light; a regex finds the dark runs at C speed.
_DARK = re.compile(rb"[\x00-\x7f]+")
_SPAN = re.Match.span
_MATRIX_QUIET = 1  # modules zxing-cpp adds around a DataMatrix


@dataclass(frozen=True)
class LinearSymbol:
    """A Code 128 symbol: dark bars as (x, 0, width, 1) in modules, quiet zones excluded."""

    modules: int
    bars: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True)
class MatrixSymbol:
    """A DataMatrix symbol: dark runs as (x, y, length, 1) in modules, y = 0 at the bottom row."""

    columns: int
    rows: int
    runs: tuple[tuple[int, int, int, int], ...]


def code128(text: str) -> LinearSymbol:
    """Encode `text` (printable ASCII) as Code 128; the encoder picks the shortest code sets."""
    try:
        image = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(add_quiet_zones=False)
    except (ValueError, RuntimeError) as exc:
        raise BarcodeEncodingError(f"Code 128 cannot encode {text!r}: {exc}") from exc
    width = int(image.shape[1])
    row = _pixels(image, width)  # every row of a linear symbol is the same
    return LinearSymbol(width, _dark_runs(row, width, quiet=0, top=0))


def datamatrix(payload: str) -> MatrixSymbol:
    """Encode `payload` (UTF-8 text) as an ECC 200 DataMatrix."""
    try:
        # With its quiet zone every row starts and ends light, so one scan of the whole bitmap finds
        # the runs and none wraps from one row to the next.
        # Square symbols only: the smallest for some lengths is a long 12 × 64 rectangle (DMRE), which is
        # small per module in a square space and which many hand scanners do not read.
        symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix, force_square=True)
        image = symbol.to_image(add_quiet_zones=True)
    except (ValueError, RuntimeError) as exc:
        raise BarcodeEncodingError(f"DataMatrix cannot encode the intake payload: {exc}") from exc
    height, width = int(image.shape[0]), int(image.shape[1])
    quiet = _MATRIX_QUIET
    rows, columns = height - 2 * quiet, width - 2 * quiet
    top = height - 1 - quiet
    runs = _dark_runs(_pixels(image), width, quiet=quiet, top=top)
    return MatrixSymbol(columns, rows, runs)


def _pixels(image: zxingcpp.Image, count: int | None = None) -> bytes:
    # zxing-cpp images expose the buffer protocol; its type stubs do not declare it.
    flat = memoryview(image).cast("B")  # type: ignore[arg-type]
    return flat.tobytes() if count is None else flat[:count].tobytes()


def _dark_runs(pixels: bytes, width: int, *, quiet: int, top: int) -> tuple[tuple[int, int, int, int], ...]:
    """Dark runs of a bitmap `width` pixels wide as (x - quiet, top - y, length, 1).

    Runs must not wrap from one row to the next (rows start and end light, or there is one row).
    """
    return tuple(
        [
            (start % width - quiet, top - start // width, end - start, 1)
            for start, end in map(_SPAN, _DARK.finditer(pixels))
        ]
    )
