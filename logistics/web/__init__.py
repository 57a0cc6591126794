"""Web pages for the service's two kinds of people: customers (the page at their label link) and repair
centres (the console). Server-rendered with aiohttp-jinja2, no script, every asset served here.

``setup_web`` is what the composition root calls: it adds the customer's form route to the application,
mounts the console and the assets under ``/web`` (a sub-application, whose middleware answers with pages),
and keeps the sessions and form keys. Handlers call the same services as the API; nothing here changes a
repair any other way.
"""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from logistics.api.auth import KeyRing
from logistics.clock import Clock
from logistics.web import console, customer
from logistics.web.customer import customer_page, gone_page
from logistics.web.pages import WEB, WebState, prefers_html
from logistics.web.security import FormTokens, Sessions

__all__ = ["customer_page", "gone_page", "prefers_html", "setup_web"]


def setup_web(app: web.Application, *, ring: KeyRing, clock: Clock, secure_cookies: bool) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("logistics.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    app[WEB] = WebState(sessions=Sessions(clock), forms=FormTokens(), secure_cookies=secure_cookies)
    app.add_routes(customer.routes)
    pages = web.Application(middlewares=[console.page_errors])
    pages[console.RING] = ring
    pages.add_routes(console.routes)
    app.add_subapp("/web", pages)
