"""The message catalogue: every word printed on a label or instruction sheet, per language.

Messages live in `labels/messages/<language>.json`, one flat object per language with the same keys as
English. A language tag such as "fr-BE" or "de_AT" resolves to its primary subtag; anything unknown falls
back to English. Files are read on first use and cached. This module must not lay out or draw anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Final

FALLBACK_LANGUAGE: Final = "en"
SUPPORTED_LANGUAGES: Final = ("en", "fr", "de", "es", "it", "nl")
# Kinds of items that travel with a device, each named by the catalogue key "item_<kind>".
ITEM_KINDS: Final = frozenset(
    {
        "ac_adapter",
        "wired_mouse",
        "wired_keyboard",
        "external_monitor",
        "dock",
        "wireless_mouse",
        "wireless_keyboard",
        "headset",
        "other_peripheral",
        "battery",
        "consumable",
        "removable_media",
        "tablet_pen",
        "non_branded_device",
    }
)


def resolve_language(tag: str) -> str:
    """Map a BCP-47-ish tag to a catalogue language, English when we have no translation."""
    primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in SUPPORTED_LANGUAGES else FALLBACK_LANGUAGE


@cache
def messages(language: str) -> dict[str, str]:
    """All messages of one catalogue language (already resolved), read once."""
    if language not in SUPPORTED_LANGUAGES:
        raise KeyError(f"no message catalogue for {language!r}")
    text = resources.files("labels").joinpath("messages", f"{language}.json").read_text(encoding="utf-8")
    loaded = json.loads(text)
    if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
        raise ValueError(f"catalogue {language!r} must be a flat object of strings")
    return loaded


class Catalogue:
    """Messages of one language with English as the fallback for any missing key."""

    def __init__(self, tag: str, own: Mapping[str, str] | None = None) -> None:
        # `own` replaces the language's messages (a pseudo-language that marks every catalogue text, for the
        # test that finds words printed from anywhere else).
        self.language = resolve_language(tag)
        self._own = messages(self.language) if own is None else own
        self._fallback = messages(FALLBACK_LANGUAGE)

    def text(self, key: str, **values: object) -> str:
        """The message for `key`, with `{placeholders}` filled from `values`."""
        template = self._own.get(key) or self._fallback[key]
        return template.format(**values) if values else template

    def date(self, value: date) -> str:
        """A date in the language's usual numeric form."""
        return self.text("date_format", day=value.day, month=value.month, year=value.year)
