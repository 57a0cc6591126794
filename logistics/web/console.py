"""The repair-centre console: sign in with the centre key, the three lists, the scan field, receipt with the
packing slip and the Defective Media Retention check, dispatch and the outbound label.

Thin handlers on the same services as the API (``Centres``, ``Repairs``, ``LabelDocuments``), scoped to the
session's centre: another centre's device is "not found", exactly as in the API. Served by a sub-application
under ``/web``, whose middleware answers every error with a page and adds the security headers.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from logistics.api.auth import KeyRing
from logistics.api.context import request_id_of
from logistics.api.keys import SERVICES
from logistics.domain.journey import JourneyState, LegDirection
from logistics.domain.model import Repair
from logistics.domain.routing.eligibility import ACCESSORIES, PERIPHERALS
from logistics.domain.routing.request import ItemKind
from logistics.errors import Conflict, LogisticsError, NotFound
from logistics.services.centres import Dispatch, Receipt, expected_items
from logistics.web.pages import WEB, load_assets, read_form, render
from logistics.web.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_IDLE,
    ConsoleSession,
    from_own_pages,
    secure,
)
from logistics.web.texts import Texts, from_accept_language

# What a receipt may find in the parcel besides what the packing slip expects: the accessories and
# peripherals the programme covers (the eligibility rules' own sets, in their declared order), named as the
# packing slip names them. "Other peripheral" has no box to tick: the slip describes it in words.
ACCESSORY_KINDS = tuple(
    kind.value for kind in ItemKind if kind in ACCESSORIES | PERIPHERALS and kind is not ItemKind.OTHER_PERIPHERAL
)


routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RING: web.AppKey[KeyRing] = web.AppKey("centre_key_ring", KeyRing)

LOGIN = "/web/centre/login"
HOME = "/web/centre"
RECEIVABLE = (JourneyState.AWAITING_PICKUP, JourneyState.AWAITING_DROP_OFF, JourneyState.IN_TRANSIT_TO_CENTRE)
CONDITIONS = ("as_expected", "damaged_packaging", "damaged_device")
PAGE_SIZE = 50  # devices per list and page
LISTS = {  # the list's name (as in the API's centre view), its title, and the title of its status column
    "expected": ("web_list_expected", "web_col_carrier_status"),
    "at_centre": ("web_list_at_centre", "web_col_turnaround"),
    "dispatched": ("web_list_dispatched", "web_col_carrier_status"),
}
ASSETS = load_assets()


def texts_for(request: web.Request) -> Texts:
    return Texts(from_accept_language(request.headers.get("Accept-Language", "")))


def session_of(request: web.Request) -> ConsoleSession | None:
    return request.config_dict[WEB].sessions.get(request.cookies.get(SESSION_COOKIE))


def _refused(request: web.Request, status: int, message: str) -> web.Response:
    texts = texts_for(request)
    return render(
        request,
        "message.html",
        texts,
        status=status,
        title=texts("web_console_title"),
        message=message,
        back=HOME,
        back_text=texts("web_back"),
    )


def signed_in(handler: Callable[[web.Request, ConsoleSession], Awaitable[web.StreamResponse]]) -> Handler:
    """The handler runs only in a live session; a POST must also come from the console's own pages and carry
    the session's form token. Without a session a page sends the browser to sign in; a POST is refused."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        if request.method == "POST":
            form = await read_form(request)
            if form is None:
                return _refused(request, 400, texts_for(request)("web_form_expired"))
            token = str(form.get("form_token") or "")
            if session is None or not from_own_pages(request):
                return _refused(request, 403, texts_for(request)("web_form_expired"))
            if not hmac.compare_digest(token.encode("utf-8", "replace"), session.form_token.encode()):
                return _refused(request, 403, texts_for(request)("web_form_expired"))
        elif session is None:
            raise web.HTTPSeeOther(LOGIN)
        return await handler(request, session)

    return wrapped


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors of the console as pages (not problem documents), and the security headers on every answer."""
    texts = texts_for(request)
    try:
        response = await handler(request)
    except NotFound:
        response = _refused(request, 404, texts("web_not_found"))
    except LogisticsError as exc:
        response = _refused(request, exc.status, texts("web_refused", reason=exc.message))
    except web.HTTPException as exc:
        if exc.status < 400:
            secure(exc)
            raise
        response = _refused(request, exc.status, texts("web_not_found") if exc.status == 404 else exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    if "Content-Security-Policy" not in response.headers:
        secure(response)
    return response


@routes.get("/static/{name}")
async def asset(request: web.Request) -> web.StreamResponse:
    found = ASSETS.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    if request.headers.get("If-None-Match") == found.etag:
        return secure(web.Response(status=304, headers={"ETag": found.etag}), cache="public, max-age=3600")
    response = web.Response(body=found.body, content_type=found.content_type, headers={"ETag": found.etag})
    return secure(response, cache="public, max-age=3600")


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=request.config_dict[WEB].secure_cookies,
        max_age=int(SESSION_IDLE.total_seconds()),
    )


@routes.get("/centre/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    if session_of(request) is not None:
        raise web.HTTPSeeOther(HOME)
    return _login_page(request, 200, None)


def _login_page(request: web.Request, status: int, problem: str | None) -> web.Response:
    texts = texts_for(request)
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", texts, status=status, title=texts("web_login_title"), form_token=token, problem=problem
    )
    _cookie(response, request, LOGIN_COOKIE, token, LOGIN)
    return response


@routes.post("/centre/login")
async def login(request: web.Request) -> web.StreamResponse:
    """Exchange the centre key for a session cookie. The key comes in the form body, never in an address."""
    form = await read_form(request)
    texts = texts_for(request)
    if form is None:
        return _login_page(request, 400, texts("web_form_expired"))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    token = str(form.get("form_token") or "")
    if not from_own_pages(request) or not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return _login_page(request, 403, texts("web_form_expired"))
    principal = request.config_dict[RING].principal(str(form.get("key") or "").strip())
    if principal is None or principal.role != "repair_centre" or principal.centre_id is None:
        return _login_page(request, 401, texts("web_login_failed"))
    session_id, _ = request.config_dict[WEB].sessions.open(principal.centre_id, principal.name)
    response = web.HTTPSeeOther(HOME)
    _cookie(response, request, SESSION_COOKIE, session_id, HOME)
    response.del_cookie(LOGIN_COOKIE, path=LOGIN)
    raise response


@routes.post("/centre/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        request.config_dict[WEB].sessions.close(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther(LOGIN)
        response.del_cookie(SESSION_COOKIE, path=HOME)
        raise response

    return await signed_in(handler)(request)


def _row(repair: Repair, texts: Texts, status: str) -> dict[str, Any]:
    leg = repair.outbound or repair.inbound
    return {
        "id": repair.id,
        "case_id": repair.case_id,
        "device": f"{repair.device.model} · {repair.device.serial_number}",
        "tracking": leg.tracking_number or "—",
        "state": texts.state(repair.state),
        "status": status,
        "flagged": any(f.code == "receipt.discrepancy" and f.cleared_at is None for f in repair.flags),
    }


async def _home(request: web.Request, session: ConsoleSession, *, status: int = 200, **extra: Any) -> web.Response:
    """The three lists, a page of each; ``?list=<name>&cursor=…`` shows the next page of one of them."""
    svc = request.config_dict[SERVICES]
    texts = texts_for(request)
    only = request.query.get("list") if request.query.get("list") in LISTS else None
    lists = []
    for name, (title, status_title) in LISTS.items():
        if only is not None and name != only:
            continue
        cursor = request.query.get("cursor") if name == only else None
        page = await svc.centres.repairs(session.centre_id, name, PAGE_SIZE, cursor)  # type: ignore[arg-type]
        rows = []
        for repair in page.items:
            if name == "at_centre":
                shown = texts(f"web_turnaround_{repair.turnaround_status}")
            else:
                leg = repair.outbound if name == "dispatched" and repair.outbound else repair.inbound
                shown = texts(f"web_leg_{leg.status.value}")
            rows.append(_row(repair, texts, shown))
        more = f"{HOME}?{urlencode({'list': name, 'cursor': page.next_cursor})}" if page.next_cursor else None
        lists.append(
            {"name": name, "title": texts(title), "status_title": texts(status_title), "rows": rows, "more": more}
        )
    return render(
        request,
        "console.html",
        texts,
        status=status,
        title=texts("web_console_title"),
        session=session,
        lists=lists,
        code=extra.pop("code", ""),
        **extra,
    )


@routes.get("/centre")
async def home(request: web.Request) -> web.StreamResponse:
    return await signed_in(_home)(request)


@routes.get("/centre/scan")
async def scan(request: web.Request) -> web.StreamResponse:
    """What the scanner typed (the label's 2D payload or a tracking number, then Enter): the device's page."""

    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        code = request.query.get("code", "")
        try:
            repair = await request.config_dict[SERVICES].centres.find(session.centre_id, code)
        except NotFound:
            texts = texts_for(request)
            return await _home(request, session, status=404, problem=texts("web_scan_unknown"), code=code[:200])
        raise web.HTTPSeeOther(f"{HOME}/repairs/{repair.id}")

    return await signed_in(handler)(request)


async def _repair_page(
    request: web.Request, session: ConsoleSession, repair: Repair, *, status: int = 200, problem: str | None = None
) -> web.Response:
    texts = texts_for(request)
    expected = expected_items(repair)
    notice = {"received": "web_received", "dispatched": "web_dispatched"}.get(request.query.get("done", ""))
    return render(
        request,
        "repair.html",
        texts,
        status=status,
        title=f"{texts('case_reference')} {repair.case_id}",
        session=session,
        repair=repair,
        expected=[{"kind": k, "text": texts(f"item_{k}")} for k in expected],
        extra=[{"kind": k, "text": texts(f"item_{k}")} for k in ACCESSORY_KINDS if k not in expected],
        dmr=repair.entitlement.defective_media_retention,
        conditions=[(c, texts(f"web_condition_{c}")) for c in CONDITIONS],
        discrepancies=[f.reason for f in repair.flags if f.code == "receipt.discrepancy"],
        can_receive=repair.state in RECEIVABLE,
        can_dispatch=repair.state is JourneyState.AT_CENTRE and repair.outbound is None,
        outcome_text=texts("web_event_replaced" if repair.outcome == "replaced" else "web_event_repaired"),
        notice=texts(notice) if notice else None,
        problem=problem,
    )


@routes.get("/centre/repairs/{repair_id}")
async def repair_page(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        svc = request.config_dict[SERVICES]
        repair = await svc.repairs.get(request.match_info["repair_id"], centre_id=session.centre_id)
        return await _repair_page(request, session, repair)

    return await signed_in(handler)(request)


@routes.post("/centre/repairs/{repair_id}/receipt")
async def receive(request: web.Request) -> web.StreamResponse:
    """Receipt as the form says: the items ticked, the drive check, the condition. What differs from the
    packing slip is recorded as a discrepancy by the same rule as the API's receipt."""

    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        svc = request.config_dict[SERVICES]
        repair_id = request.match_info["repair_id"]
        repair = await svc.repairs.get(repair_id, centre_id=session.centre_id)
        form = await request.post()
        dmr = repair.entitlement.defective_media_retention
        try:
            receipt = Receipt(
                repair_id=repair_id,
                condition=str(form.get("condition") or "as_expected"),
                items_received=tuple(str(item) for item in form.getall("item", [])),
                drive_present=(form.get("drive_present") == "yes") if dmr else None,
            )
        except ValidationError as exc:
            return await _repair_page(request, session, repair, status=422, problem=_first_error(exc))
        receiving = svc.centres.receive(session.centre_id, receipt, request_id_of(request))
        return await _act_then_show(request, session, repair_id, receiving, "received")

    return await signed_in(handler)(request)


async def _act_then_show(
    request: web.Request, session: ConsoleSession, repair_id: str, act: Awaitable[object], done: str
) -> web.StreamResponse:
    """Run the centre's action, then show the repair with what was done; a refusal shows the page again
    with the reason (409)."""
    try:
        await act
    except Conflict as exc:
        repair = await request.config_dict[SERVICES].repairs.get(repair_id, centre_id=session.centre_id)
        return await _repair_page(request, session, repair, status=409, problem=exc.message)
    raise web.HTTPSeeOther(f"{HOME}/repairs/{repair_id}?done={done}")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


@routes.post("/centre/repairs/{repair_id}/dispatch")
async def dispatch(request: web.Request) -> web.StreamResponse:
    """Dispatch with the outcome (and the replacement's serial), then the page with the outbound label."""

    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        svc = request.config_dict[SERVICES]
        repair_id = request.match_info["repair_id"]
        form = await request.post()
        serial = str(form.get("replacement_serial") or "").strip()
        try:
            command = Dispatch.model_validate(
                {
                    "repair_id": repair_id,
                    "outcome": str(form.get("outcome") or ""),
                    "replacement_serial": serial or None,
                }
            )
        except ValidationError as exc:
            repair = await svc.repairs.get(repair_id, centre_id=session.centre_id)
            return await _repair_page(request, session, repair, status=422, problem=_first_error(exc))
        dispatching = svc.centres.dispatch(session.centre_id, command, request_id_of(request))
        return await _act_then_show(request, session, repair_id, dispatching, "dispatched#outbound")

    return await signed_in(handler)(request)


@routes.get("/centre/repairs/{repair_id}/label")
async def outbound_label(request: web.Request) -> web.StreamResponse:
    """The outbound 4×6 label, to print on the centre's thermal printer."""

    async def handler(request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        svc = request.config_dict[SERVICES]
        repair = await svc.repairs.get(request.match_info["repair_id"], centre_id=session.centre_id)
        document = await svc.labels.render(repair, LegDirection.OUTBOUND, "4x6")
        response = web.Response(
            body=document.pdf,
            content_type="application/pdf",
            headers={"ETag": f'"{document.etag}"', "Content-Disposition": f'inline; filename="{document.filename}"'},
        )
        return secure(response, cache="private, no-store")

    return await signed_in(handler)(request)
