"""Routes for repair centres: receipts, dispatches and their own list of devices."""

from __future__ import annotations

import asyncio
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from logistics.api.auth import require_centre
from logistics.api.bodies import body_model, query_model, read_body, refuse_unprintable
from logistics.api.context import request_id_of
from logistics.api.idempotency import keep_secret
from logistics.api.keys import SERVICES
from logistics.api.routes_repairs import json_response, label_url, pdf_response
from logistics.api.views import repair_view
from logistics.domain.journey import LegDirection
from logistics.services.bookings import REQUEST_STARTED
from logistics.services.centres import Dispatch, Receipt

routes = web.RouteTableDef()


class CentreListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    view: Literal["expected", "at_centre", "dispatched"] = "expected"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=200)


@routes.post("/v1/centres/{centre_id}/receipts")
async def receive(request: web.Request) -> web.Response:
    centre_id = request.match_info["centre_id"]
    require_centre(request, centre_id)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    receipt = body_model(Receipt, request, body)

    async def compute() -> web.Response:
        repair = await svc.centres.receive(centre_id, receipt, request_id_of(request))
        return json_response(repair_view(repair))

    return await svc.idempotency.run(request, body, compute)


@routes.post("/v1/centres/{centre_id}/dispatches")
async def dispatch(request: web.Request) -> web.Response:
    REQUEST_STARTED.set(asyncio.get_running_loop().time())  # the booking budget counts from here
    centre_id = request.match_info["centre_id"]
    require_centre(request, centre_id)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    command = body_model(Dispatch, request, body)
    if command.replacement_serial is not None:
        refuse_unprintable([("replacement_serial", command.replacement_serial)])

    async def compute() -> web.Response:
        done = await svc.centres.dispatch(centre_id, command, request_id_of(request))
        booked = done.repair.outbound is not None and done.repair.outbound.status.value != "booking_pending"
        response = json_response(
            {
                "repair": repair_view(done.repair),
                # The centre prints on its thermal printer: the 4x6 label(s), then the dispatch slip.
                "label": {
                    "url": label_url(request, done.label_token) + "?format=4x6",
                    "expires_at": done.label_expires_at.isoformat(),
                },
            },
            status=201 if booked else 202,
        )
        return keep_secret(response, done.label_token)

    return await svc.idempotency.run(request, body, compute)


@routes.get("/v1/centres/{centre_id}/repairs")
async def centre_repairs(request: web.Request) -> web.Response:
    centre_id = request.match_info["centre_id"]
    require_centre(request, centre_id)
    svc = request.app[SERVICES]
    query = query_model(CentreListQuery, request)
    page = await svc.centres.repairs(centre_id, query.view, query.limit, query.cursor)
    return json_response({"items": [repair_view(r) for r in page.items], "next_cursor": page.next_cursor})


@routes.get("/v1/centres/{centre_id}/repairs/{repair_id}/labels/outbound")
async def centre_label(request: web.Request) -> web.Response:
    centre_id = request.match_info["centre_id"]
    require_centre(request, centre_id)
    svc = request.app[SERVICES]
    repair = await svc.repairs.get(request.match_info["repair_id"], centre_id=centre_id)
    return await pdf_response(request, await svc.labels.render(repair, LegDirection.OUTBOUND, "4x6"))
