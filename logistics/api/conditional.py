"""Conditional requests on documents: ``If-None-Match`` as RFC 9110 (section 13.1.2) defines it.

The field is a list of entity tags (possibly over several header lines) or ``*``; tags compare weakly, so
``W/"x"`` matches ``"x"``. This module parses and compares only; the handlers decide what to answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# An entity tag: optional weakness prefix, then a quoted string of etagc characters (no spaces, no quotes).
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


def none_match(headers: Iterable[str], etag: str) -> bool:
    """True when ``If-None-Match`` (all its lines) names the current representation, whose opaque tag is
    ``etag`` (unquoted): ``*``, or any listed tag equal to it under weak comparison. A malformed field is
    ignored, as if absent (the request then answers in full, which is always safe)."""
    for line in headers:
        value = line.strip()
        if value == "*":
            return True
        position = 0
        while position < len(value):
            if value[position] in " ,":  # empty list elements are allowed
                position += 1
                continue
            found = _ENTITY_TAG.match(value, position)
            if found is None:
                break
            if found.group(2) == etag:
                return True
            position = found.end()
    return False
