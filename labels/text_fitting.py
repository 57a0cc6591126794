"""Fitting text into a box: wrap at word boundaries, then shrink, then (last resort) cut with an ellipsis.

All paragraphs of a block share one scale so a block reads as one unit; each paragraph keeps its own
weight and relative size. Lines are wrapped in logical order and measured and drawn in their visual
form (`visual_order`), so Hebrew and Arabic come out right to left and joined. The published field
limits are chosen so real values never need cutting; `TextBlock.truncated` says when it happened anyway.
This module must not draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from labels.geometry import Box, Colour, TextBlock, TextLine
from labels.typeface import ASCENT, DESCENT, LINE_HEIGHT, Weight, typeface
from labels.visual_order import visual

Align = Literal["left", "centre"]
_ELLIPSIS = "…"
_STEP = 0.25


@dataclass(frozen=True)
class Paragraph:
    """A run of text of one weight; `scale` multiplies the block's font size."""

    text: str
    weight: Weight = "regular"
    scale: float = 1.0
    space_before: float = 0.0  # in lines of this paragraph


def fit_block(
    paragraphs: Sequence[Paragraph],
    box: Box,
    *,
    max_size: float,
    min_size: float,
    align: Align = "left",
    colour: Colour = "black",
) -> TextBlock:
    """Lay `paragraphs` out top-down in `box` at the largest size in [min_size, max_size] that fits."""
    return _fit_block(tuple(paragraphs), box, max_size, min_size, align, colour)


# Cached: captions and catalogue texts repeat on every label.
@lru_cache(maxsize=4096)
def _fit_block(
    paragraphs: tuple[Paragraph, ...], box: Box, max_size: float, min_size: float, align: Align, colour: Colour
) -> TextBlock:
    def layout_at(size: float) -> tuple[list[list[str]], float]:
        wrapped = [_wrap(p.text, p.weight, size * p.scale, box.width) for p in paragraphs]
        return wrapped, _height(paragraphs, wrapped, size)

    def fits(wrapped: list[list[str]], height: float) -> bool:
        # Breaking a word between letters is a last resort: shrink first.
        return height <= box.height and not any(
            _breaks_words(p, lines) for p, lines in zip(paragraphs, wrapped, strict=True)
        )

    size = max_size
    wrapped, height = layout_at(size)
    if not fits(wrapped, height):
        # Height falls as the size falls (stepwise, because of wrapping): bisect on the size grid.
        low, high = math.ceil(min_size / _STEP), math.floor(max_size / _STEP) - 1
        best: tuple[float, list[list[str]], float] | None = None
        while low <= high:
            middle = (low + high) // 2
            trial_wrapped, trial_height = layout_at(middle * _STEP)
            if fits(trial_wrapped, trial_height):
                best = (middle * _STEP, trial_wrapped, trial_height)
                low = middle + 1
            else:
                high = middle - 1
        if best is None:
            size = min_size
            wrapped, height = layout_at(size)
        else:
            size, wrapped, height = best
    truncated = height > box.height
    lines: list[TextLine] = []
    top = box.top
    for paragraph, paragraph_lines in zip(paragraphs, wrapped, strict=True):
        line_size = size * paragraph.scale
        top -= paragraph.space_before * line_size * LINE_HEIGHT if lines else 0.0
        face = typeface(paragraph.weight)
        for text in paragraph_lines:
            gap = (LINE_HEIGHT - ASCENT - DESCENT) * line_size / 2
            baseline = top - gap - ASCENT * line_size
            if baseline - DESCENT * line_size < box.y - 1e-6:
                truncated = True
                _cut_last(lines, box)
                return TextBlock(box, tuple(lines), truncated=True)
            width = face.width(visual(text), line_size)
            x = box.x + (box.width - width) / 2 if align == "centre" else box.x
            lines.append(TextLine(x, baseline, visual(text), paragraph.weight, line_size, width, colour))
            top -= LINE_HEIGHT * line_size
    return TextBlock(box, tuple(lines), truncated=truncated)


def fit_line(
    text: str, box: Box, *, weight: Weight, max_size: float, min_size: float, align: Align = "left"
) -> TextBlock:
    """A single line: shrink to fit the width, never wrap."""
    face = typeface(weight)
    unit = face.width(visual(text), 1.0)
    size = min(max_size, box.height / LINE_HEIGHT)
    if unit * size > box.width:
        # Width grows linearly with size: the fitting size is known, put it on the size grid.
        size = max(min_size, math.floor(box.width / unit / _STEP) * _STEP)
    truncated = face.width(visual(text), size) > box.width
    if truncated:
        text = _shorten(text, weight, size, box.width)
    text = visual(text)
    width = face.width(text, size)
    baseline = box.y + (box.height - (ASCENT + DESCENT) * size) / 2 + DESCENT * size
    x = box.x + (box.width - width) / 2 if align == "centre" else box.x
    return TextBlock(box, (TextLine(x, baseline, text, weight, size, width),), truncated=truncated)


def _height(paragraphs: Sequence[Paragraph], wrapped: Sequence[list[str]], size: float) -> float:
    total = 0.0
    for index, (paragraph, lines) in enumerate(zip(paragraphs, wrapped, strict=True)):
        line_size = size * paragraph.scale
        if index:
            total += paragraph.space_before * line_size * LINE_HEIGHT
        total += len(lines) * LINE_HEIGHT * line_size
    return total


def _wrap(text: str, weight: Weight, size: float, width: float) -> list[str]:
    face = typeface(weight)
    if face.width(visual(text), size) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if face.width(visual(candidate), size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # A word wider than the box (long phone numbers, URLs) is broken between characters.
        while face.width(visual(word), size) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and face.width(visual(word[:cut]), size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _breaks_words(paragraph: Paragraph, lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    return sum(len(line.split(" ")) for line in lines) != len(paragraph.text.split(" "))


def _shorten(text: str, weight: Weight, size: float, width: float) -> str:
    face = typeface(weight)
    while text and face.width(text + _ELLIPSIS, size) > width:
        text = text[:-1]
    return text + _ELLIPSIS


def _cut_last(lines: list[TextLine], box: Box) -> None:
    if not lines:
        return
    last = lines[-1]
    text = _shorten(last.text, last.weight, last.size, box.right - last.x)
    lines[-1] = TextLine(
        last.x, last.baseline, text, last.weight, last.size, typeface(last.weight).width(text, last.size), last.colour
    )
