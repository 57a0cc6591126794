"""The customer's page, at the label link itself: where the device is, what to do next, the label in both
formats, and moving the courier pickup. Thin handlers: they read the link through ``CustomerLinks`` and
render; the one change goes through the same use case as the API's reschedule.

The page is served at the link when a browser asks for a page (``Accept: text/html``) and no ``format``;
``?format=a4`` and ``?format=4x6`` still give the PDF. A machine still gets the uniform 404 for a link
that opens nothing; a person is told whether it expired or was withdrawn.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from labels import support_hours_text
from logistics.api.context import request_id_of
from logistics.api.keys import SERVICES
from logistics.errors import Conflict, NotFound, RuleRefused
from logistics.services.customer_links import CUSTOMER_MOVES, GoneLink, OpenLink, can_move_pickup, customer_moves
from logistics.services.label_documents import SUPPORT_HOURS
from logistics.services.label_links import token_hash
from logistics.web.pages import WEB, read_form, render
from logistics.web.security import from_own_pages
from logistics.web.texts import Texts, best_language, from_accept_language, next_steps, timeline

routes = web.RouteTableDef()

MOVE_PICKUP = "move-pickup"
NOTICES = {"moved": "web_moved"}
PROBLEMS = {"move_refused": "web_move_refused", "form_expired": "web_form_expired"}


def _page_language(request: web.Request, repair_language: str, chosen: str | None = None) -> Texts:
    return Texts(best_language(chosen or request.query.get("lang"), repair_language))


async def customer_page(request: web.Request, token: str) -> web.Response:
    """The page behind a label link (the label route calls it when a browser asks for a page)."""
    svc = request.app[SERVICES]
    opened = await svc.customer_links.open(token)
    if isinstance(opened, GoneLink):
        return gone_page(request, opened)
    texts = _page_language(request, opened.repair.language)
    repair = opened.repair
    leg = repair.leg(opened.leg)
    assert leg is not None
    held = repair.inbound.pickup.local_date if repair.inbound.pickup else None
    slots = [
        {
            "value": slot.local_date.isoformat(),
            "text": texts(
                "pickup_window",
                date=texts.date(slot.local_date),
                ready=slot.ready_time.strftime("%H:%M"),
                close=slot.close_time.strftime("%H:%M"),
                zone=slot.time_zone,
            ),
        }
        for slot in svc.customer_links.offered_slots(opened)
        if slot.local_date != held
    ]
    move_limit = can_move_pickup(opened) and customer_moves(opened) >= CUSTOMER_MOVES
    notice = NOTICES.get(request.query.get("done", ""))
    problem = PROBLEMS.get(request.query.get("problem", ""))
    response = render(
        request,
        "customer.html",
        texts,
        title=texts("web_customer_title", case=repair.case_id),
        repair=repair,
        leg=leg,
        steps=next_steps(repair, opened.leg, texts),
        lines=timeline(repair, opened.history, texts),
        slots=slots,
        move_action=f"{request.path}/pickup",
        form_token=request.app[WEB].forms.issue(MOVE_PICKUP, token_hash(token)),
        notice=texts(notice) if notice else None,
        problem=texts(problem) if problem else None,
        support_hours=support_hours_text(SUPPORT_HOURS, texts.catalogue),
        move_limit=texts("web_move_limit") if move_limit else None,
    )
    response.headers["Vary"] = "Accept"
    return response


def gone_page(request: web.Request, gone: GoneLink) -> web.Response:
    """Why a link opens nothing, in the repair's language where it is known. Always 404, as for machines."""
    # The repair's language where the link names one; else the browser's.
    fallback = gone.repair.language if gone.repair else from_accept_language(request.headers.get("Accept-Language", ""))
    texts = _page_language(request, fallback)
    if gone.reason == "expired" and gone.expires_at is not None:
        message = texts("web_link_expired", date=texts.date(gone.expires_at.date()))
    elif gone.reason == "revoked":
        message = texts("web_link_revoked")
    else:
        message = texts("web_link_unknown")
    response = render(
        request,
        "message.html",
        texts,
        status=404,
        title=texts("web_link_gone_title"),
        message=message,
        case_id=gone.repair.case_id if gone.repair else None,
        switchable=True,
    )
    response.headers["Vary"] = "Accept"
    return response


def _back(request: web.Request, token: str, lang: str, **query: str) -> web.HTTPSeeOther:
    path = request.path.rsplit("/", 1)[0]
    return web.HTTPSeeOther(f"{path}?{urlencode({'lang': lang, **query})}")


@routes.post("/v1/labels/{token}/pickup")
async def move_pickup(request: web.Request) -> web.StreamResponse:
    """Move the courier pickup to the offered day the customer chose, then back to the page (303)."""
    svc = request.app[SERVICES]
    token = request.match_info["token"]
    form = await read_form(request)
    if form is None:
        texts = Texts("en")
        return render(
            request, "message.html", texts, status=400, title=texts("web_move_title"), message=texts("web_form_expired")
        )
    lang = best_language(str(form.get("lang") or ""), "en")
    texts = Texts(lang)
    if not from_own_pages(request) or not request.app[WEB].forms.check(
        MOVE_PICKUP, token_hash(token), str(form.get("form_token") or "")
    ):
        return render(
            request, "message.html", texts, status=403, title=texts("web_move_title"), message=texts("web_form_expired")
        )
    try:
        chosen = date.fromisoformat(str(form.get("date") or ""))
    except ValueError:
        raise _back(request, token, lang, problem="move_refused") from None
    try:
        await svc.customer_links.move_pickup(token, chosen, request_id_of(request))
    except NotFound:
        opened = await svc.customer_links.open(token)
        if isinstance(opened, OpenLink):  # live again in between: nothing was moved, let the page say so
            raise _back(request, token, lang, problem="move_refused") from None
        return gone_page(request, opened)
    except (Conflict, RuleRefused):
        raise _back(request, token, lang, problem="move_refused") from None
    raise _back(request, token, lang, done="moved")
