"""The customer's page at the label link, over HTTP: negotiation, languages, gone links, moving the pickup."""

from __future__ import annotations

import re

from logistics.domain.journey import Actor
from logistics.services.customer_links import CUSTOMER_MOVES
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.service import Service
from tests.web.pages import BROWSER_ACCEPT, form_token, get_page, link_path, post_form


async def test_a_browser_gets_the_page_and_a_machine_or_format_the_pdf(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-1"))
    path = link_path(created)
    status, html, response = await get_page(service, path)
    assert status == 200 and response.content_type == "text/html"
    assert '<html lang="fr">' in html and "C-WEB-1" in html
    assert response.headers["Vary"] == "Accept"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"  # the token never leaves for another site
    assert "<script" not in html
    for fmt in ("a4", "4x6"):
        status, _, response = await get_page(service, f"{path}?format={fmt}")
        assert status == 200 and response.content_type == "application/pdf"
    status, _, answer = await service.call("GET", path, None)  # Accept: */*, as curl sends
    assert status == 200 and answer.content_type == "application/pdf"


async def test_the_page_switches_among_six_languages(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-2"))
    path = link_path(created)
    seen = set()
    for lang, words in {
        "en": "What to do next",
        "fr": "Que faire maintenant",
        "de": "Was jetzt zu tun ist",
        "es": "Qué hacer ahora",
        "it": "Cosa fare ora",
        "nl": "Wat u nu moet doen",
    }.items():
        status, html, _ = await get_page(service, f"{path}?lang={lang}")
        assert status == 200 and f'<html lang="{lang}">' in html and words in html
        seen.add(html)
    assert len(seen) == 6
    status, html, _ = await get_page(service, f"{path}?lang=xx")
    assert '<html lang="fr">' in html  # the repair's own language


async def test_the_page_tells_the_journey_and_the_pickup_window_in_local_time(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-3"))
    pickup = created["pickup"]
    _, html, _ = await get_page(service, link_path(created) + "?lang=en")
    assert "Repair logistics opened" in html and "Courier pickup booked" in html
    ready = pickup["ready_time"][:5]
    assert f"between {ready} and" in html and "(Europe/Paris)" in html
    assert "Back up your data" in html


async def test_a_drop_off_page_gives_the_instructions_and_the_ship_by_date(service: Service) -> None:
    request = repair_request(CORSICA_SITE, "C-WEB-4")
    _, created, _ = await service.call("POST", "/v1/repairs", json=request)
    _, html, _ = await get_page(service, link_path(created) + "?lang=en")
    assert "Drop-off" in html and "Send the parcel by" in html
    assert "Move the pickup" not in html


async def test_expired_revoked_and_unknown_links_get_pages_that_say_why(service: Service) -> None:
    _, first, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-5"))
    _, second, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-WEB-6"))
    await service.call("POST", f"/v1/repairs/{first['repair']['id']}/cancel", json={"reason": "x"})
    status, html, _ = await get_page(service, link_path(first) + "?lang=en")
    assert status == 404 and "withdrawn because the repair was cancelled" in html and "C-WEB-5" in html
    status, html, _ = await get_page(service, "/v1/labels/" + "A" * 32)
    assert status == 404 and "There is no label at this address" in html
    service.clock.advance(days=31)
    status, html, _ = await get_page(service, link_path(second) + "?lang=en")
    assert status == 404 and "This link expired on" in html
    status, html, _ = await get_page(service, link_path(second) + "?format=a4")
    assert status == 404 and "Ce lien a expiré le" in html  # a person clicking the PDF button is told too
    status, problem, _ = await service.call("GET", link_path(second), None)
    assert status == 404 and problem["code"] == "label.not_found"  # machines: the uniform 404


async def _offered_dates(service: Service, path: str) -> tuple[list[str], str]:
    _, html, _ = await get_page(service, path + "?lang=en")
    return re.findall(r'name="date" id="slot-\d+" value="([0-9-]+)"', html), form_token(html)


async def test_the_customer_moves_the_pickup_once_however_often_the_form_is_sent(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-7"))
    path, repair_id = link_path(created), created["repair"]["id"]
    dates, token = await _offered_dates(service, path)
    assert dates and created["pickup"]["local_date"] not in dates
    target = dates[-1]
    for _ in range(2):
        status, _, response = await post_form(service, f"{path}/pickup", {"date": target, "form_token": token})
        assert status == 303 and response.headers["Location"].endswith("done=moved")
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    assert repair["inbound"]["pickup"]["local_date"] == target
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
    moves = [e for e in history["items"] if e["kind"] == "rescheduled"]
    assert len(moves) == 1 and moves[0]["actor"] == Actor.CUSTOMER.value
    _, html, _ = await get_page(service, path + "?lang=en&done=moved")
    assert "The pickup has been moved." in html and "Pickup moved to" in html


async def test_a_day_that_is_not_offered_is_refused_and_changes_nothing(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-8"))
    path = link_path(created)
    _, token = await _offered_dates(service, path)
    for day in ("2031-01-01", "not-a-date"):
        status, _, response = await post_form(service, f"{path}/pickup", {"date": day, "form_token": token})
        assert status == 303 and "problem=move_refused" in response.headers["Location"]
    _, repair, _ = await service.call("GET", f"/v1/repairs/{created['repair']['id']}")
    assert repair["inbound"]["pickup"] == created["pickup"]


async def test_a_cross_site_or_tokenless_post_is_refused_and_changes_nothing(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-9"))
    _, other, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-10"))
    path = link_path(created)
    dates, token = await _offered_dates(service, path)
    _, other_token = await _offered_dates(service, link_path(other))
    attempts = [
        ({"date": dates[0], "form_token": token}, "https://evil.example"),
        ({"date": dates[0]}, "same"),
        ({"date": dates[0], "form_token": other_token}, "same"),  # a form of another link
    ]
    for data, origin in attempts:
        status, html, _ = await post_form(service, f"{path}/pickup", data, origin=origin)
        assert status == 403 and "This form has expired" in html
    _, repair, _ = await service.call("GET", f"/v1/repairs/{created['repair']['id']}")
    assert repair["inbound"]["pickup"] == created["pickup"]
    status, html, _ = await post_form(service, "/v1/labels/" + "A" * 32 + "/pickup", {"date": dates[0]})
    assert status == 403


async def test_a_body_that_is_not_a_readable_form_is_refused_with_400(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-11"))
    async with service.http.post(
        service.base_url + link_path(created) + "/pickup",
        data=b"date=2026-03-04",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    ) as response:
        assert response.status == 400 and response.content_type == "text/html"


async def test_an_unknown_link_is_explained_in_the_browsers_language(service: Service) -> None:
    headers = {"Accept": BROWSER_ACCEPT, "Accept-Language": "de-DE,de;q=0.9"}
    async with service.http.get(service.base_url + "/v1/labels/" + "B" * 32, headers=headers) as response:
        status, html = response.status, await response.text()
    assert status == 404 and '<html lang="de">' in html and "Unter dieser Adresse gibt es kein Etikett" in html


async def test_the_customer_moves_the_pickup_online_a_few_times_then_asks_support(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-12"))
    path, repair_id = link_path(created), created["repair"]["id"]
    for _ in range(CUSTOMER_MOVES):
        dates, token = await _offered_dates(service, path)
        status, _, response = await post_form(service, f"{path}/pickup", {"date": dates[0], "form_token": token})
        assert status == 303 and response.headers["Location"].endswith("done=moved")
    held = (await service.call("GET", f"/v1/repairs/{repair_id}"))[1]["inbound"]["pickup"]["local_date"]
    _, html, _ = await get_page(service, path + "?lang=en")
    assert "moved as often as it can be online" in html and 'name="date"' not in html
    other = "2026-03-04" if held != "2026-03-04" else "2026-03-05"
    status, _, response = await post_form(service, f"{path}/pickup", {"date": other, "form_token": token})
    assert status == 303 and "problem=move_refused" in response.headers["Location"]
    _, history, _ = await service.call("GET", f"/v1/repairs/{repair_id}/events")
    assert sum(1 for e in history["items"] if e["kind"] == "rescheduled") == CUSTOMER_MOVES


async def test_every_asset_a_page_loads_is_served_by_the_service_itself(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-13"))
    _, html, _ = await get_page(service, link_path(created))
    assets = re.findall(r'(?:href|src)="([^"?#]+\.(?:css|svg|js|png|woff2?))"', html)
    assert set(assets) == {"/web/static/site.css", "/web/static/icon.svg"}
    for asset in assets:
        async with service.http.get(service.base_url + asset) as response:
            assert response.status == 200 and response.content_type in ("text/css", "image/svg+xml")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            etag = response.headers["ETag"]
        async with service.http.get(service.base_url + asset, headers={"If-None-Match": etag}) as response:
            assert response.status == 304
    async with service.http.get(service.base_url + "/web/static/missing.css") as response:
        assert response.status == 404 and response.content_type == "text/html"


async def test_the_support_hours_are_written_in_the_pages_language(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-WEB-HOURS"))
    _, html, _ = await get_page(service, link_path(created) + "?lang=fr")
    assert "du lun. au ven., de 08:00 à 17:00" in html
    _, html, _ = await get_page(service, link_path(created) + "?lang=en")
    assert "Mon–Fri, 08:00–17:00" in html
    assert "first_day" not in html
