"""Requests a browser sends to the web pages, for tests over HTTP without a browser."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.support.service import Service

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def link_path(created: dict[str, Any]) -> str:
    url: str = created["customer_label"]["url"]
    return url.removeprefix("http://127.0.0.1:8080")


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, "the page has no form"
    return found.group(1)


async def get_page(
    service: Service, path: str, *, jar: aiohttp.ClientSession | None = None, **headers: str
) -> tuple[int, str, aiohttp.ClientResponse]:
    http = jar or service.http
    async with http.get(
        service.base_url + path, headers={"Accept": BROWSER_ACCEPT, **headers}, allow_redirects=False
    ) as response:
        return response.status, await response.text(errors="replace"), response


async def post_form(
    service: Service,
    path: str,
    data: dict[str, str] | list[tuple[str, str]],
    *,
    jar: aiohttp.ClientSession | None = None,
    origin: str | None = "same",
) -> tuple[int, str, aiohttp.ClientResponse]:
    http = jar or service.http
    headers = {"Accept": BROWSER_ACCEPT}
    if origin == "same":
        headers["Origin"] = service.base_url
        headers["Sec-Fetch-Site"] = "same-origin"
    elif origin is not None:
        headers["Origin"] = origin
        headers["Sec-Fetch-Site"] = "cross-site"
    async with http.post(service.base_url + path, data=data, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(errors="replace"), response
