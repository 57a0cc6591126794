"""The repair centre in a real browser: sign in, scan with a keyboard-wedge scanner (text + Enter), receive
with a discrepancy, dispatch and print the label; another centre's device invisible; a cross-site form fails."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from logistics.domain.intake import intake_payload
from logistics.domain.journey import LegDirection
from tests.browser.conftest import new_context, screenshot
from tests.browser.journeys import create, repair
from tests.support.live_service import LiveService


def wait_for_focus(page: Page, selector: str) -> None:
    """The page gives ``selector`` the focus by itself (``autofocus``), as the browser gets round to it."""
    page.wait_for_function(f"document.activeElement && document.activeElement.matches({selector!r})")


def sign_in(
    browser: Browser, live: LiveService, centre: str = "fr-lyon", **options: Any
) -> tuple[BrowserContext, Page]:
    context = new_context(browser, **options)
    page = context.new_page()
    page.goto(live.service.base_url + "/web/centre")
    assert page.url.endswith("/web/centre/login")  # no session: sent to sign in
    wait_for_focus(page, "#key")
    page.keyboard.type(live.service.keys[centre])
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/centre")
    assert live.service.keys[centre] not in page.url
    wait_for_focus(page, "#code")  # the scan field, ready for the scanner
    return context, page


def test_the_centre_scans_receives_with_a_discrepancy_dispatches_and_prints(
    browser: Browser, live: LiveService
) -> None:
    created = create(live, "C-BR-CON-1", defective_media_retention=True)
    repair_id = created["repair"]["id"]
    context, page = sign_in(browser, live)
    try:
        cookie = next(c for c in context.cookies() if c["name"] == "lgx_console")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "C-BR-CON-1" in page.locator("#list-expected").locator("xpath=..").inner_text()
        screenshot(page, "console-desktop-en-lists")

        secret = live.service.services.settings.intake_secret.get_secret_value().encode()
        page.keyboard.type(intake_payload(secret, repair_id, LegDirection.INBOUND))  # the scan field has the focus
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/web/centre/repairs/{repair_id}")
        assert page.get_by_role("heading", name="Receipt").is_visible()
        screenshot(page, "console-desktop-en-receipt")

        page.get_by_label("AC adapter", exact=True).uncheck()  # on the packing slip, not in the box
        page.get_by_label("Wired mouse", exact=True).check()  # in the box, not on the packing slip
        page.get_by_label("A hard drive or SSD is in the device").check()
        page.get_by_role("button", name="Confirm receipt").click()
        page.wait_for_url("**done=received")
        assert page.get_by_role("heading", name="Discrepancies").is_visible()
        flags = page.locator(".flags").inner_text()
        assert "missing items: ac_adapter" in flags and "wired_mouse" in flags
        assert "Defective Media Retention" in flags

        page.get_by_label("Replaced by an equivalent unit").check()
        page.get_by_label("Serial number of the replacement unit").fill("5CG9999NEW")
        page.get_by_role("button", name="Dispatch and print the label").click()
        page.wait_for_url("**done=dispatched**")
        screenshot(page, "console-desktop-en-dispatched")
        with page.expect_response(lambda answer: answer.url.endswith("/label")) as opened:
            page.get_by_role("link", name="Print the outbound label (4×6 in, PDF)").click()
        label = opened.value  # opened in the browser's own PDF viewer, to print
        assert label.status == 200 and label.headers["content-type"] == "application/pdf"
        assert context.request.get(label.url).body().startswith(b"%PDF")  # with the session's cookie
        after = repair(live, repair_id)
        assert after["outcome"] == "replaced" and after["replacement_serial"] == "5CG9999NEW"
        assert after["outbound"] is not None
    finally:
        context.close()


def test_a_typed_tracking_number_and_enter_find_the_device(browser: Browser, live: LiveService) -> None:
    created = create(live, "C-BR-CON-2")
    context, page = sign_in(browser, live)
    try:
        page.keyboard.type(created["repair"]["inbound"]["tracking_number"])
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/web/centre/repairs/{created['repair']['id']}")
    finally:
        context.close()


def test_another_centres_device_is_invisible(browser: Browser, live: LiveService) -> None:
    created = create(live, "C-BR-CON-3")  # routed to fr-lyon
    context, page = sign_in(browser, live, "de-frankfurt", locale="de-DE")
    try:
        assert "C-BR-CON-3" not in page.content()
        response = page.goto(live.service.base_url + f"/web/centre/repairs/{created['repair']['id']}")
        assert response is not None and response.status == 404
        assert "C-BR-CON-3" not in page.content()
        page.goto(live.service.base_url + "/web/centre")
        wait_for_focus(page, "#code")
        page.keyboard.type(created["repair"]["inbound"]["tracking_number"])
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert page.get_by_role("alert").inner_text() == "Kein Gerät dieses Zentrums passt zu diesem Code."
        screenshot(page, "console-desktop-de-not-found")
    finally:
        context.close()


def test_a_form_on_another_site_cannot_act_with_the_centres_session(browser: Browser, live: LiveService) -> None:
    created = create(live, "C-BR-CON-4")
    repair_id = created["repair"]["id"]
    context, page = sign_in(browser, live)
    try:
        page.goto(live.service.base_url + f"/web/centre/repairs/{repair_id}")
        token = page.locator("input[name=form_token]").first.get_attribute("value")
        # The worst case: a page elsewhere that even knows the form token, submitted by the signed-in user.
        evil = (
            f'<!doctype html><html lang="en"><title>x</title><form method="post" '
            f'action="{live.service.base_url}/web/centre/repairs/{repair_id}/receipt">'
            f'<input type="hidden" name="form_token" value="{token}"><button>Win a prize</button></form></html>'
        )
        context.route("http://evil.example/**", lambda route: route.fulfill(body=evil, content_type="text/html"))
        page.goto("http://evil.example/prize")
        with page.expect_response(lambda answer: answer.url.endswith("/receipt")) as answer:
            page.get_by_role("button", name="Win a prize").click()
        assert answer.value.status == 403
        assert repair(live, repair_id)["state"] == "awaiting_pickup"
    finally:
        context.close()
