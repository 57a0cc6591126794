"""Every page, in two languages, at phone and desktop widths: axe-core (injected into the page) finds no
serious or critical violation; each page is kept as a screenshot for review."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import new_context, screenshot, serious_violations
from tests.browser.journeys import create, dispatch, link
from tests.support.live_service import LiveService


def _check(page: Page, url: str, name: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (name, response and response.status)
    violations = serious_violations(page)
    screenshot(page, name)
    assert violations == [], (name, violations)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_no_serious_or_critical_violation_on_any_page(
    browser: Browser, live: LiveService, lang: str, width: str
) -> None:
    base = live.service.base_url
    pickup = create(live, f"C-A11Y-{lang}-{width}-1", defective_media_retention=True)
    drop_off = create(live, f"C-A11Y-{lang}-{width}-2", drop_off=True)
    at_centre = create(live, f"C-A11Y-{lang}-{width}-3")
    dispatched = create(live, f"C-A11Y-{lang}-{width}-4")
    status, _, _ = live.run(
        live.service.call(
            "POST",
            "/v1/centres/fr-lyon/receipts",
            "fr-lyon",
            json={"repair_id": at_centre["repair"]["id"], "items_received": []},
        )
    )
    assert status == 200
    live.run(
        live.service.call(
            "POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": dispatched["repair"]["id"]}
        )
    )
    dispatch(live, dispatched["repair"]["id"])
    locale = "fr-FR" if lang == "fr" else "en-GB"
    context = new_context(browser, phone=width == "phone", locale=locale)
    tag = f"{width}-{lang}"
    try:
        page = context.new_page()
        _check(page, f"{link(live, pickup)}?lang={lang}", f"a11y-customer-pickup-{tag}")
        _check(page, f"{link(live, pickup)}?lang={lang}&done=moved", f"a11y-customer-moved-{tag}")
        _check(page, f"{link(live, drop_off)}?lang={lang}", f"a11y-customer-drop-off-{tag}")
        _check(page, f"{base}/v1/labels/{'A' * 32}?lang={lang}", f"a11y-customer-unknown-link-{tag}", 404)
        _check(page, f"{base}/web/centre/login", f"a11y-console-login-{tag}")
        page.locator("#key").fill(live.service.keys["fr-lyon"])
        page.locator("#key").press("Enter")
        page.wait_for_url("**/web/centre")
        _check(page, f"{base}/web/centre", f"a11y-console-lists-{tag}")
        _check(page, f"{base}/web/centre/scan?code=NOT-OURS", f"a11y-console-scan-unknown-{tag}", 404)
        _check(page, f"{base}/web/centre/repairs/{pickup['repair']['id']}", f"a11y-console-receipt-{tag}")
        _check(page, f"{base}/web/centre/repairs/{at_centre['repair']['id']}", f"a11y-console-dispatch-{tag}")
        _check(page, f"{base}/web/centre/repairs/{dispatched['repair']['id']}", f"a11y-console-dispatched-{tag}")
        _check(page, f"{base}/web/centre/repairs/rp_unknown", f"a11y-console-not-found-{tag}", 404)
    finally:
        context.close()


def test_the_check_finds_violations_where_there_are_some(browser: Browser) -> None:
    """The check itself can fail: a page with an unlabelled field, an image without text and no language."""
    bad = (
        '<!doctype html><html><head><title>x</title></head><body><main><img src="a.png">'
        '<input type="text"><a href="#"></a></main></body></html>'
    )
    context = new_context(browser)
    try:
        context.route("http://bad.example/**", lambda route: route.fulfill(body=bad, content_type="text/html"))
        page = context.new_page()
        page.goto("http://bad.example/")
        found = {violation["id"] for violation in serious_violations(page)}
        assert {"image-alt", "label", "html-has-lang", "link-name"} <= found
    finally:
        context.close()
