"""The customer in a real browser, on a phone screen, with JavaScript off: open the link, read the page,
switch language, download both label formats, move the pickup with the keyboard alone; an expired link."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, Page

from tests.browser.conftest import new_context, screenshot
from tests.browser.journeys import create, link, repair
from tests.support.live_service import LiveService


def _focus_by_tab(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_customer_opens_the_link_downloads_both_labels_and_moves_the_pickup(
    browser: Browser, live: LiveService
) -> None:
    created = create(live, "C-BR-1")
    context = new_context(browser, phone=True, java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(link(live, created))
        assert response is not None and response.status == 200
        assert page.locator("html").get_attribute("lang") == "fr"
        assert "C-BR-1" in page.locator("h1").inner_text()
        assert page.locator(".timeline li").count() >= 2
        no_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert no_scroll, "the page is wider than a phone screen"
        screenshot(page, "customer-phone-fr")

        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name="What to do next").is_visible()

        for name, size in (("A4, PDF", "a4"), ("4×6 in, PDF", "4x6")):
            with page.expect_download() as download:
                page.get_by_role("link", name=name).click()
            data = download.value.path().read_bytes()
            assert data.startswith(b"%PDF"), size

        held = created["pickup"]["local_date"]
        _focus_by_tab(page, "input[name=date]")
        page.keyboard.press("Space")  # choose the first offered day other than the one booked
        chosen = page.evaluate("document.activeElement.value")
        assert chosen != held
        _focus_by_tab(page, "form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**done=moved**")
        assert page.get_by_role("status").inner_text() == "The pickup has been moved."
        screenshot(page, "customer-phone-en-moved")
        assert repair(live, created["repair"]["id"])["inbound"]["pickup"]["local_date"] == chosen
    finally:
        context.close()


def test_a_desktop_browser_gets_the_same_page(browser: Browser, live: LiveService) -> None:
    created = create(live, "C-BR-2", drop_off=True)
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(link(live, created) + "?lang=en")
        assert page.get_by_role("heading", name="Drop-off").is_visible()
        screenshot(page, "customer-desktop-en-drop-off")
    finally:
        context.close()


def test_an_expired_link_says_so(browser: Browser, live: LiveService) -> None:
    created = create(live, "C-BR-3")
    context = new_context(browser, phone=True)
    before = live.clock.now()
    live.clock.set(before + timedelta(days=31))
    try:
        page = context.new_page()
        response = page.goto(link(live, created) + "?lang=en")
        assert response is not None and response.status == 404
        assert page.get_by_role("heading", name="This link no longer works").is_visible()
        assert "expired on" in page.locator("main").inner_text()
        screenshot(page, "customer-phone-en-expired")
    finally:
        live.clock.set(before)
        context.close()
