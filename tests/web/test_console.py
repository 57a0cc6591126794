"""The repair-centre console over HTTP: sign-in, sessions, scans, receipt with discrepancies, dispatch, label,
and the refusals (no session, another centre's device, cross-site forms)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from logistics.domain.intake import intake_payload
from logistics.domain.journey import LegDirection
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service
from tests.web.pages import form_token, get_page, post_form


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies, even for 127.0.0.1, as a browser does."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def sign_in(service: Service, browser: aiohttp.ClientSession, centre: str = "fr-lyon") -> str:
    status, html, _ = await get_page(service, "/web/centre/login", jar=browser)
    assert status == 200
    status, _, response = await post_form(
        service, "/web/centre/login", {"key": service.keys[centre], "form_token": form_token(html)}, jar=browser
    )
    assert status == 303 and response.headers["Location"] == "/web/centre"
    status, html, _ = await get_page(service, "/web/centre", jar=browser)
    assert status == 200
    return form_token(html.split('action="/web/centre/logout"', 1)[1])


async def _repair(service: Service, case: str, **entitlement: Any) -> dict[str, Any]:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, case, **entitlement))
    assert status == 201
    repair: dict[str, Any] = created["repair"]
    return repair


async def test_signing_in_exchanges_the_key_for_a_short_lived_strict_cookie(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    status, html, response = await get_page(service, "/web/centre/login", jar=browser)
    key = service.keys["fr-lyon"]
    status, _, response = await post_form(
        service, "/web/centre/login", {"key": key, "form_token": form_token(html)}, jar=browser
    )
    assert status == 303
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("lgx_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=1800" in cookie
    assert key not in cookie and key not in response.headers["Location"]
    service.clock.advance(minutes=31)  # idle for longer than a session lasts
    status, _, response = await get_page(service, "/web/centre", jar=browser)
    assert status == 303 and response.headers["Location"] == "/web/centre/login"


async def test_a_key_that_is_not_a_centre_key_is_refused(service: Service, browser: aiohttp.ClientSession) -> None:
    for key in (service.keys["case_system"], "not-a-key"):
        _, html, _ = await get_page(service, "/web/centre/login", jar=browser)
        status, page, _ = await post_form(
            service, "/web/centre/login", {"key": key, "form_token": form_token(html)}, jar=browser
        )
        assert status == 401 and "not a repair centre key" in page
    _, html, _ = await get_page(service, "/web/centre/login", jar=browser)
    status, _, _ = await post_form(
        service,
        "/web/centre/login",
        {"key": service.keys["fr-lyon"], "form_token": form_token(html)},
        jar=browser,
        origin="https://evil.example",
    )
    assert status == 403


async def test_without_a_session_pages_send_to_sign_in_and_forms_change_nothing(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    repair = await _repair(service, "C-CON-1")
    for path in ("/web/centre", f"/web/centre/repairs/{repair['id']}", f"/web/centre/repairs/{repair['id']}/label"):
        status, _, response = await get_page(service, path, jar=browser)
        assert status == 303 and response.headers["Location"] == "/web/centre/login"
    status, _, _ = await post_form(
        service, f"/web/centre/repairs/{repair['id']}/receipt", {"item": "ac_adapter", "form_token": "x"}, jar=browser
    )
    assert status == 403
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["state"] == "awaiting_pickup"


async def test_a_scan_or_a_typed_tracking_number_opens_the_receipt_form(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    repair = await _repair(service, "C-CON-2", defective_media_retention=True)
    await sign_in(service, browser)
    secret = service.services.settings.intake_secret.get_secret_value().encode()
    for code in (intake_payload(secret, repair["id"], LegDirection.INBOUND), repair["inbound"]["tracking_number"]):
        status, _, response = await get_page(service, f"/web/centre/scan?code={code}", jar=browser)
        assert status == 303 and response.headers["Location"] == f"/web/centre/repairs/{repair['id']}"
    status, html, _ = await get_page(service, f"/web/centre/repairs/{repair['id']}", jar=browser)
    assert status == 200 and 'name="item" id="item-ac_adapter" value="ac_adapter" checked' in html
    assert "Defective Media Retention" in html and 'name="drive_present"' in html
    forged = intake_payload(b"another secret", repair["id"], LegDirection.INBOUND)
    for code in (forged, "1Z-NOT-OURS"):
        status, html, _ = await get_page(service, f"/web/centre/scan?code={code}", jar=browser)
        assert status == 404 and "No device of this centre matches this code." in html


async def test_receipt_with_a_discrepancy_then_dispatch_and_the_outbound_label(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    repair = await _repair(service, "C-CON-3", defective_media_retention=True)
    token = await sign_in(service, browser)
    base = f"/web/centre/repairs/{repair['id']}"
    form = [("form_token", token), ("item", "wired_mouse"), ("drive_present", "yes"), ("condition", "as_expected")]
    status, _, response = await post_form(service, f"{base}/receipt", form, jar=browser)
    assert status == 303 and response.headers["Location"] == f"{base}?done=received"
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["state"] == "at_centre"
    (flag,) = after["flags"]
    assert "missing items: ac_adapter" in flag["reason"] and "wired_mouse" in flag["reason"]
    assert "Defective Media Retention" in flag["reason"]
    _, html, _ = await get_page(service, f"{base}?done=received", jar=browser)
    assert "Discrepancies" in html and "missing items: ac_adapter" in html
    status, html, _ = await post_form(
        service, f"{base}/dispatch", {"form_token": token, "outcome": "replaced"}, jar=browser
    )
    assert status == 422 and "replacement_serial" in html  # a replacement needs its serial: nothing dispatched
    status, _, response = await post_form(
        service,
        f"{base}/dispatch",
        {"form_token": token, "outcome": "replaced", "replacement_serial": "5CG9999NEW"},
        jar=browser,
    )
    assert status == 303
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["outcome"] == "replaced" and after["replacement_serial"] == "5CG9999NEW"
    _, html, _ = await get_page(service, f"{base}?done=dispatched", jar=browser)
    assert f'href="{base}/label"' in html
    async with browser.get(service.base_url + f"{base}/label") as label:
        assert label.status == 200 and label.content_type == "application/pdf"
        assert (await label.read()).startswith(b"%PDF")
    _, html, _ = await get_page(service, "/web/centre", jar=browser)
    dispatched = html.split('id="list-dispatched"', 1)[1]
    assert "C-CON-3" in dispatched


async def test_another_centres_device_is_not_found_and_its_forms_change_nothing(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    repair = await _repair(service, "C-CON-4")  # routed to fr-lyon
    token = await sign_in(service, browser, "de-frankfurt")
    base = f"/web/centre/repairs/{repair['id']}"
    for path in (base, f"{base}/label", f"/web/centre/scan?code={repair['inbound']['tracking_number']}"):
        status, html, _ = await get_page(service, path, jar=browser)
        assert status == 404, path
        assert "C-CON-4" not in html
    status, _, _ = await post_form(service, f"{base}/receipt", {"form_token": token}, jar=browser)
    assert status == 404
    _, html, _ = await get_page(service, "/web/centre", jar=browser)
    assert "C-CON-4" not in html
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["state"] == "awaiting_pickup"


async def test_a_cross_site_post_with_the_session_cookie_changes_nothing(
    service: Service, browser: aiohttp.ClientSession
) -> None:
    repair = await _repair(service, "C-CON-5")
    token = await sign_in(service, browser)
    base = f"/web/centre/repairs/{repair['id']}"
    for origin, data in (("https://evil.example", {"form_token": token}), ("same", {"form_token": "guessed"})):
        status, _, _ = await post_form(service, f"{base}/receipt", data, jar=browser, origin=origin)
        assert status == 403
    _, after, _ = await service.call("GET", f"/v1/repairs/{repair['id']}")
    assert after["state"] == "awaiting_pickup"


async def test_signing_out_ends_the_session(service: Service, browser: aiohttp.ClientSession) -> None:
    token = await sign_in(service, browser)
    cookie = next(c for c in browser.cookie_jar if c.key == "lgx_console").value
    status, _, response = await post_form(service, "/web/centre/logout", {"form_token": token}, jar=browser)
    assert status == 303 and response.headers["Location"] == "/web/centre/login"
    async with aiohttp.ClientSession() as stranger:  # the old cookie, replayed, opens nothing
        status, _, response = await get_page(service, "/web/centre", jar=stranger, Cookie=f"lgx_console={cookie}")
    assert status == 303


async def test_a_long_list_goes_on_over_further_pages(
    service: Service, browser: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("logistics.web.console.PAGE_SIZE", 2)
    cases = {f"C-CON-P{index}" for index in range(5)}
    for case in sorted(cases):
        await _repair(service, case)
    await sign_in(service, browser)
    seen: set[str] = set()
    path: str | None = "/web/centre"
    pages = 0
    while path is not None:
        status, html, _ = await get_page(service, path, jar=browser)
        assert status == 200
        expected = html.split('id="list-expected"', 1)[1].split("</section>", 1)[0]
        seen |= set(re.findall(r"C-CON-P\d", expected))
        found = re.search(r'<a href="(/web/centre\?list=expected&amp;cursor=[^"]+)"', expected)
        path = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert seen == cases and pages == 3
    status, _, _ = await get_page(service, "/web/centre?list=expected&cursor=forged", jar=browser)
    assert status == 422
