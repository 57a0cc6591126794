"""Right-to-left text (Hebrew, Arabic) in the order and shapes it is drawn in.

PDF text is drawn glyph after glyph, left to right, and the label typeface has no shaping tables that a
PDF viewer would apply. So a line holding right-to-left letters is turned into its visual form before it
is measured and drawn: Arabic letters become their contextual presentation forms (arabic-reshaper, with
the lam-alef ligatures), then the Unicode bidirectional algorithm (python-bidi) puts the line in display
order, numbers and Latin words inside it kept left to right. Paragraphs are wrapped in logical order and
each line is reordered on its own, as the algorithm asks. Left-to-right text is returned unchanged at
the cost of one regular-expression search. This module must not lay out or draw.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import arabic_reshaper
from bidi import get_display

# Letters of the right-to-left scripts the typeface has: Hebrew, Arabic and Arabic presentation forms.
_RIGHT_TO_LEFT: Final = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufb1d-\ufb4f\ufb50-\ufdff\ufe70-\ufeff]")


def has_right_to_left(text: str) -> bool:
    return _RIGHT_TO_LEFT.search(text) is not None


@lru_cache(maxsize=8192)
def visual(line: str) -> str:
    """`line` as drawn: shaped and in display order when it holds right-to-left letters, else itself."""
    if _RIGHT_TO_LEFT.search(line) is None:
        return line
    return str(get_display(arabic_reshaper.reshape(line)))
