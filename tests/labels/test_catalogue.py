"""The message catalogue: complete in every language, with the same placeholders as English."""

from __future__ import annotations

import string
from datetime import date

import pytest

from labels.catalogue import FALLBACK_LANGUAGE, SUPPORTED_LANGUAGES, Catalogue, messages, resolve_language


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_language_has_every_key(language: str) -> None:
    assert set(messages(language)) == set(messages(FALLBACK_LANGUAGE))


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_placeholders_match_english(language: str) -> None:
    english = messages(FALLBACK_LANGUAGE)
    for key, template in messages(language).items():
        assert _placeholders(template) == _placeholders(english[key]), key
        assert template.strip(), key


def test_at_least_the_six_required_languages() -> None:
    assert {"en", "fr", "de", "es", "it", "nl"} <= set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("fr", "fr"), ("fr-BE", "fr"), ("de_AT", "de"), ("NL", "nl"), ("pl", "en"), ("zz-Latn", "en")],
)
def test_language_tags_resolve_with_english_fallback(tag: str, expected: str) -> None:
    assert resolve_language(tag) == expected


def test_messages_are_filled_and_dates_localised() -> None:
    french, german = Catalogue("fr"), Catalogue("de-CH")

    assert french.text("piece", number=2, count=3) == "Colis 2 sur 3"
    assert french.date(date(2025, 1, 3)) == "03/01/2025"
    assert german.date(date(2025, 1, 3)) == "03.01.2025"
    assert Catalogue("pl").text("return_mark") == "RETURN"
