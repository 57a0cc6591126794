"""Which text the labels print with real glyphs: the typeface's repertoire, left to right, unshaped.

The label typeface (DejaVu Sans) covers the scripts of every country served: Latin with all European
accents, Greek and Cyrillic, plus Vietnamese, Turkish, Georgian, Armenian, Hebrew and Arabic. Text is
written to the PDF one glyph per character, with two-byte codes; Hebrew and Arabic are first shaped and
put in display order (`visual_order`). So a character prints as intended only when both weights have the
glyph it is drawn with, it lies in the Basic Multilingual Plane, and it is not a combining or format
character (it would need positioning the PDF cannot do; composed forms are used where Unicode has them).
The service refuses other text (CJK, most emoji, vowel points) when it is accepted, so a label never
shows an empty box or a replacement character. This module must not lay out or draw.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

from labels.typeface import typeface
from labels.visual_order import visual

_EXPLICIT_DIRECTION: Final = frozenset({"RLE", "RLO", "RLI", "LRE", "LRO", "LRI", "FSI", "PDF", "PDI"})
_NEEDS_SHAPING: Final = frozenset({"Mn", "Mc", "Me", "Cf", "Cc", "Cs", "Co", "Cn"})


def printable_form(text: str) -> str:
    """`text` as the labels print it: composed (NFC), so "e" + combining acute prints as one "é"."""
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=4096)
def unprintable(text: str) -> str | None:
    """Why `text` cannot be printed with real glyphs (naming the first character at fault), or None.

    Every label's texts are checked each time it is described, also when its document then comes from the
    cache, and they are the same texts again and again (names, addresses, the catalogue's): the answers for
    the last few thousand are kept."""
    regular, bold = typeface("regular"), typeface("bold")
    for char in printable_form(text):
        if char.isascii() and char.isprintable():
            continue
        name = unicodedata.name(char, "unnamed")
        code = f"U+{ord(char):04X} {name}"
        if ord(char) > 0xFFFF:
            return f"{code} is outside the characters the labels print"
        if unicodedata.bidirectional(char) in _EXPLICIT_DIRECTION:
            return f"{code} is a direction control, which the labels do not print"
        if unicodedata.category(char) in _NEEDS_SHAPING:
            return f"{code} needs text shaping, which the labels do not do"
        if not (regular.has_glyph(char) and bold.has_glyph(char)):
            return f"{code} has no glyph in the label typeface"
    for char in visual(printable_form(text)):  # the contextual forms Arabic letters are drawn with
        if char.isascii() and char.isprintable():
            continue
        if not (regular.has_glyph(char) and bold.has_glyph(char)):
            return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')} has no glyph in the label typeface"
    return None
