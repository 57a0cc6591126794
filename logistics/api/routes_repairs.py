"""Routes for the case system: routing quotes and the repairs' logistics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from logistics.api.auth import require_case_system
from logistics.api.bodies import body_model, iso_instant_only, query_model, read_body, refuse_unprintable
from logistics.api.conditional import none_match
from logistics.api.context import request_id_of
from logistics.api.idempotency import keep_secret, request_origin
from logistics.api.keys import SERVICES
from logistics.api.services import ServiceSet
from logistics.api.views import custody_view, decision_view, history_view, repair_view
from logistics.domain.journey import JourneyState, LegDirection
from logistics.domain.routing import RoutingRequest
from logistics.domain.text import plain_text
from logistics.errors import NotFound
from logistics.services.bookings import REQUEST_STARTED
from logistics.services.label_documents import LabelDocument, printed_fields
from logistics.services.ports import RepairFilter
from logistics.services.repairs import CreateRepair, Reschedule

M = TypeVar("M", bound=BaseModel)

routes = web.RouteTableDef()


def json_response(data: Any, status: int = 200) -> web.Response:
    body = orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)
    return web.Response(status=status, body=body, content_type="application/json")


def label_url(request: web.Request, token: str) -> str:
    return f"{request.app[SERVICES].settings.public_base_url}/v1/labels/{token}"


_STATE = "|".join(state.value for state in JourneyState)
_STATES = rf"^({_STATE})(,({_STATE}))*$"


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, pattern=_STATES, description="one state or several, comma-separated")
    dispatched: bool | None = None
    updated_since: AwareDatetime | None = None
    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "created_at"

    _iso_instant = field_validator("updated_since", mode="before")(iso_instant_only)
    centre_id: str | None = Field(default=None, max_length=64)
    region_id: str | None = Field(default=None, max_length=64)
    turnaround: str | None = Field(
        default=None, pattern=r"^(on_track|at_risk|breached)(,(on_track|at_risk|breached))*$"
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=200)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, plain_text(500)] = "cancelled by the case system"


class LabelQuery(BaseModel):
    # Links travel through mail tools and browsers, which add parameters of their own (utm_source...).
    model_config = ConfigDict(extra="ignore")

    format: Literal["4x6", "a4"] = "4x6"


@routes.post("/v1/routing/quote")
async def quote(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    command = body_model(RoutingRequest, request, body)
    return json_response(decision_view(svc.routing.quote(command)))


@routes.post("/v1/repairs")
async def create_repair(request: web.Request) -> web.Response:
    require_case_system(request)
    REQUEST_STARTED.set(asyncio.get_running_loop().time())  # the booking budget counts from here
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    command = body_model(CreateRepair, request, body)
    refuse_unprintable(printed_fields(command))

    async def compute() -> web.Response:
        created = await svc.repairs.create(command, request_id_of(request), origin=request_origin(request))
        view = {
            "repair": repair_view(created.repair),
            "decision": decision_view(created.decision),
            "pickup": created.repair.inbound.pickup.model_dump(mode="json") if created.repair.inbound.pickup else None,
            "customer_label": {
                "url": label_url(request, created.label_token),
                "expires_at": created.label_expires_at.isoformat(),
            },
        }
        booked = created.repair.inbound.status.value != "booking_pending"
        response = json_response(view, status=201 if booked else 202)
        response.headers["Location"] = f"/v1/repairs/{created.repair.id}"
        return keep_secret(response, created.label_token)

    return await svc.idempotency.run(request, body, compute)


@routes.get("/v1/repairs")
async def list_repairs(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    query = query_model(ListQuery, request)
    flt = RepairFilter(
        case_id=query.case_id,
        states=tuple(JourneyState(state) for state in query.status.split(",")) if query.status else (),
        centre_id=query.centre_id,
        region_id=query.region_id,
        turnaround_status=tuple(query.turnaround.split(",")) if query.turnaround else (),
        dispatched=query.dispatched,
        updated_since=query.updated_since,
        sort=query.sort,
    )
    page = await svc.repairs.search(flt, query.limit, query.cursor)
    return json_response({"items": [repair_view(r) for r in page.items], "next_cursor": page.next_cursor})


@routes.get("/v1/repairs/{repair_id}")
async def get_repair(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    repair = await svc.repairs.get(request.match_info["repair_id"])
    link = await svc.customer_labels.status(repair.id)
    view = repair_view(repair)
    view["customer_label"] = {
        "status": link.status,
        "issued_at": link.issued_at.isoformat() if link.issued_at else None,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "reissue": f"/v1/repairs/{repair.id}/customer-label",
    }
    return json_response(view)


@routes.post("/v1/repairs/{repair_id}/customer-label")
async def reissue_customer_label(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    repair_id = request.match_info["repair_id"]

    async def compute() -> web.Response:
        reissued = await svc.customer_labels.reissue(repair_id)
        view = {
            "url": label_url(request, reissued.token),
            "expires_at": reissued.expires_at.isoformat(),
            "revoked": reissued.revoked,
        }
        return keep_secret(json_response(view, status=201), reissued.token)

    return await svc.idempotency.run(request, body, compute)


@routes.get("/v1/repairs/{repair_id}/events")
async def repair_history(request: web.Request) -> web.Response:
    require_case_system(request)
    entries = await request.app[SERVICES].repairs.history(request.match_info["repair_id"])
    return json_response({"items": [history_view(e) for e in entries]})


@routes.get("/v1/repairs/{repair_id}/custody")
async def repair_custody(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    repair, entries, events = await svc.repairs.custody(request.match_info["repair_id"])
    centre = svc.routing.coverage.centres.get(repair.centre_id)
    rows = custody_view(
        repair,
        entries,
        events,
        repair.routed.site_time_zone,
        centre.time_zone if centre else None,
    )
    return json_response({"items": rows})


@routes.post("/v1/repairs/{repair_id}/cancel")
async def cancel_repair(request: web.Request) -> web.Response:
    async def cancel(svc: ServiceSet, command: CancelBody) -> web.Response:
        repair = await svc.repairs.cancel(request.match_info["repair_id"], command.reason, request_id_of(request))
        return json_response(repair_view(repair))

    return await _case_system_command(request, CancelBody, cancel)


@routes.post("/v1/repairs/{repair_id}/reschedule")
async def reschedule_repair(request: web.Request) -> web.Response:
    async def reschedule(svc: ServiceSet, command: Reschedule) -> web.Response:
        repair, decision = await svc.repairs.reschedule(
            request.match_info["repair_id"], command, request_id_of(request)
        )
        return json_response(
            {
                "repair": repair_view(repair),
                "decision": decision_view(decision),
                "pickup": repair.inbound.pickup.model_dump(mode="json") if repair.inbound.pickup else None,
            }
        )

    return await _case_system_command(request, Reschedule, reschedule)


async def _case_system_command(
    request: web.Request, model: type[M], act: Callable[[ServiceSet, M], Awaitable[web.Response]]
) -> web.Response:
    """A case system's command on a repair: its optional body read as ``model``, acted on once per
    Idempotency-Key."""
    require_case_system(request)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    command = body_model(model, request, body, optional=True)

    async def compute() -> web.Response:
        return await act(svc, command)

    return await svc.idempotency.run(request, body, compute)


@routes.get("/v1/repairs/{repair_id}/labels/{leg}")
async def repair_label(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    try:
        leg = LegDirection(request.match_info["leg"])
    except ValueError as exc:
        raise NotFound("no such leg", code="leg.not_found") from exc
    query = query_model(LabelQuery, request)
    repair = await svc.repairs.get(request.match_info["repair_id"])
    return await pdf_response(request, await svc.labels.render(repair, leg, query.format))


async def pdf_response(request: web.Request, document: LabelDocument) -> web.Response:
    """The PDF, or 304 when the client's copy is current. Browsers keep it but ask again every time
    (``no-cache``), so a label changed by a reschedule is never shown stale."""
    quoted = f'"{document.etag}"'
    headers = {"ETag": quoted, "Cache-Control": "private, no-cache"}
    if none_match(request.headers.getall("If-None-Match", ()), document.etag):
        return web.Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{document.filename}"'
    return web.Response(body=document.pdf, content_type="application/pdf", headers=headers)
