"""Routes for reading notifications back: the case system's feed and the operators' redelivery."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from logistics.api.auth import require_case_system, require_operator
from logistics.api.bodies import body_model, query_model, read_body
from logistics.api.keys import SERVICES
from logistics.api.routes_repairs import json_response
from logistics.services.ports import FeedEntry

routes = web.RouteTableDef()


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: str | None = Field(default=None, max_length=40)
    limit: int = Field(default=100, ge=1, le=1000)


class Redelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repair_id: str | None = Field(default=None, min_length=1, max_length=64)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


def feed_view(entry: FeedEntry) -> dict[str, Any]:
    n = entry.notification
    status = "delivered" if entry.delivered_at else "abandoned" if entry.abandoned_at else "pending"
    return {
        "cursor": str(entry.position),
        "id": n.id,
        "type": n.type,
        "repair_id": n.repair_id,
        "sequence": n.seq,
        "queued_at": n.created_at.isoformat(),
        "delivery": {
            "status": status,
            "attempts": n.attempts,
            "delivered_at": entry.delivered_at.isoformat() if entry.delivered_at else None,
            "last_error": entry.last_error,
        },
        "payload": n.payload,
    }


@routes.get("/v1/events")
async def notification_feed(request: web.Request) -> web.Response:
    require_case_system(request)
    svc = request.app[SERVICES]
    query = query_model(FeedQuery, request)
    entries, cursor = await svc.notification_log.feed(query.after, query.limit)
    return json_response({"items": [feed_view(e) for e in entries], "next_cursor": cursor})


@routes.post("/v1/admin/notifications/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    require_operator(request)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    command = body_model(Redelivery, request, body)
    count = await svc.notification_log.redeliver(command.repair_id, command.since, command.until)
    return json_response({"requeued": count})
