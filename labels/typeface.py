"""The typeface shipped with the package (DejaVu Sans, regular and bold) and its metrics.

Fonts are loaded lazily on first use and kept for the life of the process: parsing a TrueType file
costs tens of milliseconds, measuring a string afterwards costs microseconds. Layout uses `width()`
and the vertical extents below; the PDF writer uses `font_file` to build per-document subsets. This
module must not draw or write PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Final, Literal

from reportlab.pdfbase.ttfonts import TTFontFile

from labels.errors import FontUnavailableError

Weight = Literal["regular", "bold"]

_FILES: Final[dict[Weight, str]] = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}

# Vertical extents used by layout, in em. They cover accented capitals (Ś, Ž, Ő) and descenders, which
# the font's typographic ascent (0.76 em) does not, so a fitted line never pokes out of its box.
ASCENT: Final = 0.93
DESCENT: Final = 0.24
LINE_HEIGHT: Final = 1.2


@dataclass(frozen=True, eq=False)
class Typeface:
    """One weight of the label typeface: metrics for layout, the parsed font for embedding."""

    weight: Weight
    postscript_name: str
    font_file: TTFontFile = field(repr=False)
    _widths: dict[int, float] = field(repr=False)
    _default_width: float

    def width(self, text: str, size: float) -> float:
        """Advance width of `text` at `size` points, in points."""
        return _unit_width(self, text) * size

    def unit_width(self, text: str) -> float:
        """Advance width of `text` at 1 point, uncached."""
        widths, default = self._widths, self._default_width
        return sum(widths.get(ord(ch), default) for ch in text) / 1000.0

    def has_glyph(self, char: str) -> bool:
        return ord(char) in self._widths


@lru_cache(maxsize=65536)
def _unit_width(face: Typeface, text: str) -> float:
    # Layout measures the same words many times while searching for a size; widths scale linearly.
    return face.unit_width(text)


@cache
def typeface(weight: Weight) -> Typeface:
    """The typeface of one weight, parsed on first call."""
    name = _FILES[weight]
    try:
        with resources.as_file(resources.files("labels").joinpath("fonts", name)) as path:
            font_file = TTFontFile(str(path))
    except (OSError, ValueError, KeyError) as exc:
        raise FontUnavailableError(f"cannot load the label typeface {name}: {exc}") from exc
    except Exception as exc:  # reportlab signals a malformed font with its own TTFError
        raise FontUnavailableError(f"cannot parse the label typeface {name}: {exc}") from exc
    # Whole 1/1000 em, as written in the PDF's /W arrays, so layout measures exactly what is drawn.
    widths = {code: float(round(width)) for code, width in font_file.charWidths.items()}
    postscript_name = bytes(font_file.name).decode("ascii", "replace")
    return Typeface(weight, postscript_name, font_file, widths, float(round(font_file.defaultWidth)))
