"""Rendering a page: the template, the security headers, and what every page needs (its language)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from logistics.web.security import FormTokens, Sessions, secure
from logistics.web.texts import Texts, languages

HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class WebState:
    sessions: Sessions
    forms: FormTokens
    secure_cookies: bool  # the service is reached over HTTPS (``public_base_url``)


WEB: web.AppKey[WebState] = web.AppKey("web", WebState)


def render(request: web.Request, template: str, texts: Texts, status: int = 200, **context: Any) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {"t": texts, "lang": texts.language, "languages": languages(), **context},
        status=status,
    )
    secure(response)
    return response


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField] | None:
    """The posted form, or None when the body is not a form that can be read (a malformed multipart body)."""
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError):
        return None


def _quality(accept: str, wanted: tuple[str, ...]) -> float:
    best = 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in wanted:
            best = max(best, q + 0.001)  # an exact type wins over a wildcard of the same weight
        elif media in ("*/*", wanted[0].split("/")[0] + "/*"):
            best = max(best, q)
    return best


def prefers_html(request: web.Request) -> bool:
    """Whether the caller would rather have a page than the PDF (a browser: ``Accept: text/html,…``)."""
    accept = request.headers.get("Accept", "")
    if not accept:
        return False
    return _quality(accept, HTML_TYPES) > _quality(accept, ("application/pdf",))


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """The files under ``static/``, read once: served by the service itself, never from elsewhere."""
    types = {".css": "text/css", ".svg": "image/svg+xml"}
    assets = {}
    for item in resources.files("logistics.web").joinpath("static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in types:
            body = item.read_bytes()
            assets[item.name] = Asset(body, types[suffix], '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
    return assets
