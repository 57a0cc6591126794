"""The laid-out page: boxes and what sits in them, in PDF points with the origin at the bottom left.

These are plain values produced by the layout and consumed by the PDF writer, so tests can check
geometry (nothing overflows, sizes are exact) without rendering. This module must not compute layout
or draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal

from labels.typeface import ASCENT, DESCENT, Weight

POINTS_PER_MM: Final = 72.0 / 25.4
PRINTER_DOT: Final = 72.0 / 203.0  # one dot of a 203 dpi thermal printer, in points

Colour = Literal["black", "white"]


def mm(value: float) -> float:
    """Millimetres to points."""
    return value * POINTS_PER_MM


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: (x, y) is the bottom-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def top(self) -> float:
        return self.y + self.height

    def contains(self, other: Box, tolerance: float = 1e-6) -> bool:
        return (
            other.x >= self.x - tolerance
            and other.y >= self.y - tolerance
            and other.right <= self.right + tolerance
            and other.top <= self.top + tolerance
        )

    def inset(self, dx: float, dy: float | None = None) -> Box:
        dy = dx if dy is None else dy
        return Box(self.x + dx, self.y + dy, self.width - 2 * dx, self.height - 2 * dy)


@dataclass(frozen=True)
class TextLine:
    """One line of text set on `baseline`; `extent` is the box its glyphs may ink."""

    x: float
    baseline: float
    text: str
    weight: Weight
    size: float
    width: float
    colour: Colour = "black"

    @property
    def extent(self) -> Box:
        return Box(self.x, self.baseline - DESCENT * self.size, self.width, (ASCENT + DESCENT) * self.size)


@dataclass(frozen=True)
class TextBlock:
    """Lines fitted into `box`; `truncated` is set when text had to be cut to stay inside."""

    box: Box
    lines: tuple[TextLine, ...]
    truncated: bool = False

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        # Blocks are cache keys several times per document and recur across documents: hash once.
        return hash((self.box, self.lines, self.truncated))


@dataclass(frozen=True)
class Rule:
    """A stroked straight line."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.8
    dashed: bool = False


@dataclass(frozen=True)
class Frame:
    """A rectangle, filled or stroked."""

    box: Box
    filled: bool = False
    line_width: float = 0.8
    dashed: bool = False


Run = tuple[int, int, int, int]  # x, y, width, height in grid units: symbols have hundreds of runs


@dataclass(frozen=True)
class Bars:
    """Dark runs of a barcode or 2D symbol on a grid, filled in one path.

    Grid unit (gx, gy) maps to the page point (origin_x + gx * unit_x, origin_y + gy * unit_y); for Code 128
    unit_x is the module and unit_y the bar height, for DataMatrix both are the module. `box` is the
    symbol with its quiet zones.
    """

    box: Box
    origin_x: float
    origin_y: float
    unit_x: float
    unit_y: float
    runs: tuple[Run, ...]
    content: str

    @property
    def module(self) -> float:
        return self.unit_x

    @property
    def rectangles(self) -> tuple[Box, ...]:
        """The runs as page boxes (for checks; drawing uses the grid directly)."""
        return tuple(
            Box(self.origin_x + x * self.unit_x, self.origin_y + y * self.unit_y, w * self.unit_x, h * self.unit_y)
            for x, y, w, h in self.runs
        )


@dataclass(frozen=True)
class ImageSlot:
    """Where the carrier's own label goes, scaled to fit `box` keeping its proportions."""

    box: Box


@dataclass(frozen=True)
class HatchedBorder:
    """A border band of `band` points filled with diagonal stripes `stripe` points wide, in `colour`: the
    hatched edge of the lithium battery mark."""

    box: Box
    band: float
    stripe: float
    colour: Literal["black", "red"] = "red"


@dataclass(frozen=True)
class Polygon:
    """A filled or stroked closed outline (the pictogram of the lithium battery mark)."""

    points: tuple[tuple[float, float], ...]
    filled: bool = False
    line_width: float = 0.8


Element = TextBlock | Rule | Frame | Bars | ImageSlot | HatchedBorder | Polygon


@dataclass(frozen=True)
class Page:
    """One laid-out page."""

    width: float
    height: float
    elements: tuple[Element, ...]

    @property
    def box(self) -> Box:
        return Box(0.0, 0.0, self.width, self.height)
