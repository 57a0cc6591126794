"""The web package's pure parts: language negotiation, page-or-PDF negotiation, sessions and form tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import make_mocked_request

from labels.catalogue import messages
from logistics.domain.journey import JourneyState, LegStatus
from logistics.web.pages import prefers_html
from logistics.web.security import FormTokens, Sessions, from_own_pages
from logistics.web.texts import best_language, from_accept_language
from tests.support.clock import ManualClock


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("pl-PL,de;q=0.5,en;q=0.4", "de"),
        ("en;q=0.1,nl;q=0.9", "nl"),
        ("pt-BR", "en"),
        ("", "en"),
        ("de;q=abc, it", "it"),
    ],
)
def test_the_console_speaks_the_first_language_of_the_browser_that_we_have(header: str, expected: str) -> None:
    assert from_accept_language(header) == expected


def test_a_page_language_is_one_of_six_else_the_repairs_own() -> None:
    assert best_language("de", "fr") == "de"
    assert best_language("pt", "fr") == "fr"
    assert best_language(None, "pl") == "en"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Chromium, Firefox
        ("*/*", False),  # curl
        ("", False),
        ("application/pdf", False),
        ("application/pdf,text/html;q=0.5", False),
        ("text/html;q=0.5,application/pdf;q=0.1", True),
        ("text/*", True),
    ],
)
def test_a_page_goes_to_whoever_prefers_html_to_pdf(accept: str, html: bool) -> None:
    request = make_mocked_request("GET", "/v1/labels/x", headers={"Accept": accept} if accept else {})
    assert prefers_html(request) is html


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://svc.example"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Origin": "http://evil.example"}, False),
        ({"Origin": "null"}, False),
    ],
)
def test_only_the_services_own_pages_may_post(headers: dict[str, str], allowed: bool) -> None:
    request = make_mocked_request("POST", "/x", headers={"Host": "svc.example", **headers})
    assert from_own_pages(request) is allowed


def test_a_session_lapses_when_idle_and_after_its_lifetime_whatever_happens() -> None:
    clock = ManualClock()
    sessions = Sessions(clock, idle=timedelta(minutes=30), lifetime=timedelta(hours=2))
    session_id, _ = sessions.open("fr-lyon", "lyon")
    for _ in range(3):
        clock.advance(minutes=29)
        assert sessions.get(session_id) is not None  # in use: the idle time starts again
    clock.advance(minutes=31)
    assert sessions.get(session_id) is None
    session_id, _ = sessions.open("fr-lyon", "lyon")
    for _ in range(4):
        clock.advance(minutes=29)
        assert sessions.get(session_id) is not None
    clock.advance(minutes=5)  # 2 h 1 min after sign-in
    assert sessions.get(session_id) is None
    assert sessions.get("made-up") is None and sessions.get(None) is None


def test_a_closed_session_opens_nothing() -> None:
    sessions = Sessions(ManualClock())
    session_id, _ = sessions.open("fr-lyon", "lyon")
    sessions.close(session_id)
    assert sessions.get(session_id) is None


def test_a_form_token_is_bound_to_its_purpose_and_subject() -> None:
    tokens = FormTokens(b"k" * 32)
    token = tokens.issue("move-pickup", "hash-1")
    assert tokens.check("move-pickup", "hash-1", token)
    assert not tokens.check("move-pickup", "hash-2", token)
    assert not tokens.check("other", "hash-1", token)
    assert not tokens.check("move-pickup", "hash-1", "é" + token[1:])
    assert not FormTokens().check("move-pickup", "hash-1", token)  # another process's key


@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "it", "nl"])
def test_every_state_and_carrier_status_has_words_in_every_language(language: str) -> None:
    own = messages(language)
    for state in JourneyState:
        assert f"web_state_{state.value}" in own
    for status in LegStatus:
        assert f"web_leg_{status.value}" in own
