"""Text the service accepts from its callers: what may appear in a field that reaches a label or a carrier.

Refused everywhere: C0 and C1 control characters (a tab or U+0085 breaks a label line and a carrier's
field) and the Unicode bidirectional controls (U+202A–U+202E embeddings and overrides, U+2066–U+2069
isolates, the marks U+200E, U+200F and U+061C): on a printed label they reorder what the reader sees, so a
name could display as another. Right-to-left scripts themselves are letters, not controls, and stay allowed.
"""

from __future__ import annotations

from pydantic import StringConstraints

# The class is written with the characters themselves (not escapes) for the bidi range, so that the pattern
# means the same to Python's ``re`` and to the Rust engine pydantic validates with.
FORBIDDEN = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
PLAIN_TEXT = f"^[^{FORBIDDEN}]*$"


def plain_text(max_length: int, *, min_length: int = 1, strip: bool = True) -> StringConstraints:
    """A line of text as carriers and labels print it: trimmed, within its length, no control characters."""
    return StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=PLAIN_TEXT)
