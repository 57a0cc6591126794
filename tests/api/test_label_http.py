"""Label downloads as browsers and mail tools use them: extra query parameters, conditional requests,
file names, and caching that always revalidates."""

from __future__ import annotations

from typing import Any

import pytest

from logistics.api.conditional import none_match
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.service import Service


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


async def _link(service: Service, case_id: str, site: dict[str, Any] = CORSICA_SITE) -> tuple[str, dict[str, str]]:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(site, case_id))
    assert status in (201, 202), created
    return _path(created["customer_label"]["url"]), created["repair"]


async def test_parameters_added_by_mail_tools_are_ignored(service: Service) -> None:
    path, repair = await _link(service, "C-HTTP-1")
    tracking = {"utm_source": "newsletter", "utm_medium": "email", "fbclid": "x1", "format": "4x6"}
    status, pdf, response = await service.call("GET", path, None, params=tracking)
    assert status == 200 and response.content_type == "application/pdf"
    _, thermal, _ = await service.call("GET", path, None, params={"format": "4x6"})
    assert pdf == thermal
    status, _, response = await service.call(
        "GET", f"/v1/repairs/{repair['id']}/labels/inbound", params={"utm_campaign": "c", "format": "a4"}
    )
    assert status == 200 and response.content_type == "application/pdf"
    status, problem, _ = await service.call("GET", path, None, params={"format": "letter"})
    assert status == 422 and problem["fields"][0]["name"] == "format"  # a known parameter is still checked


async def test_if_none_match_lists_weak_tags_and_star_revalidate(service: Service) -> None:
    path, _ = await _link(service, "C-HTTP-2")
    status, _, response = await service.call("GET", path, None)
    etag = response.headers["ETag"]
    assert status == 200 and etag.startswith('"')
    for header in (etag, f'"other", {etag}', f"W/{etag}", '"a",W/"b" , ' + f"W/{etag}", "*"):
        status, _, response = await service.call("GET", path, None, headers={"If-None-Match": header})
        assert status == 304, header
        assert response.headers["ETag"] == etag and "no-cache" in response.headers["Cache-Control"]
    for header in ('"other"', 'W/"other", "another"', "not a tag"):
        status, _, _ = await service.call("GET", path, None, headers={"If-None-Match": header})
        assert status == 200, header


async def test_the_file_is_named_after_the_case_and_the_leg(service: Service) -> None:
    path, repair = await _link(service, "C-HTTP:3")
    _, _, response = await service.call("GET", path, None)
    assert response.headers["Content-Disposition"] == 'inline; filename="C-HTTP_3-inbound-a4.pdf"'
    _, _, response = await service.call("GET", f"/v1/repairs/{repair['id']}/labels/inbound")
    assert response.headers["Content-Disposition"] == 'inline; filename="C-HTTP_3-inbound-4x6.pdf"'


async def test_a_rescheduled_label_is_never_served_stale(service: Service) -> None:
    path, repair = await _link(service, "C-HTTP-4", PARIS_SITE)
    status, before, response = await service.call("GET", path, None)
    etag = response.headers["ETag"]
    assert status == 200
    assert "max-age" not in response.headers["Cache-Control"] and "no-cache" in response.headers["Cache-Control"]
    status, moved, _ = await service.call(
        "POST", f"/v1/repairs/{repair['id']}/reschedule", json={"preferred_date": "2026-03-10"}
    )
    assert status == 200, moved
    status, after, response = await service.call("GET", path, None, headers={"If-None-Match": etag})
    assert status == 200 and after != before and response.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['"abc"'], True),
        (['W/"abc"'], True),
        (['"x", "abc"'], True),
        (['"x"', 'W/"abc"'], True),  # one field over two header lines
        (["*"], True),
        ([' , "abc" ,'], True),  # empty list elements
        (['"abcd"'], False),
        (['"ab c"'], False),
        (["abc"], False),  # not quoted: malformed, ignored
        ([], False),
    ],
)
def test_if_none_match_follows_rfc_9110(lines: list[str], expected: bool) -> None:
    assert none_match(lines, "abc") is expected
