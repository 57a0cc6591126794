"""Which text the labels print with real glyphs: the typeface's repertoire, left to right, unshaped.

The label typeface (DejaVu Sans) covers the scripts of every country served: Latin with all European
accents, Greek and Cyrillic, plus Vietnamese, Turkish, Georgian and Armenian. Text is written to the
PDF left to right, one glyph per character, with two-byte codes. So a character prints as intended only
when both weights have its glyph, it lies in the Basic Multilingual Plane, it is not written right to
left (Hebrew, Arabic: they would come out reversed and unjoined), and it is not a combining or format
character (it would need shaping; composed forms are used where Unicode has them). The service refuses
other text when it is accepted, so a label never shows an empty box or a replacement character. This
module must not lay out or draw.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from labels.typeface import typeface

_RIGHT_TO_LEFT: Final = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "LRE", "LRO", "LRI", "FSI", "PDF", "PDI"})
_NEEDS_SHAPING: Final = frozenset({"Mn", "Mc", "Me", "Cf", "Cc", "Cs", "Co", "Cn"})


def printable_form(text: str) -> str:
    """`text` as the labels print it: composed (NFC), so "e" + combining acute prints as one "é"."""
    return unicodedata.normalize("NFC", text)


def unprintable(text: str) -> str | None:
    """Why `text` cannot be printed with real glyphs (naming the first character at fault), or None."""
    regular, bold = typeface("regular"), typeface("bold")
    for char in printable_form(text):
        if char.isascii() and char.isprintable():
            continue
        name = unicodedata.name(char, "unnamed")
        code = f"U+{ord(char):04X} {name}"
        if ord(char) > 0xFFFF:
            return f"{code} is outside the characters the labels print"
        if unicodedata.bidirectional(char) in _RIGHT_TO_LEFT:
            return f"{code} is written right to left, which the labels do not print"
        if unicodedata.category(char) in _NEEDS_SHAPING:
            return f"{code} needs text shaping, which the labels do not do"
        if not (regular.has_glyph(char) and bold.has_glyph(char)):
            return f"{code} has no glyph in the label typeface"
    return None
