"""Routes without an API key: customers' label links, carriers' pushes (verified per carrier),
health, metrics and the API description. Plus the operators' coverage reload."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from carriers import Capability, CarrierPushAuthError, CarrierPushError
from logistics.api.bodies import query_model, read_body
from logistics.api.context import principal_of
from logistics.api.keys import SERVICES
from logistics.api.routes_repairs import json_response, pdf_response
from logistics.errors import Forbidden, InvalidRequest, NotAuthenticated, NotFound
from logistics.services.customer_links import GoneLink
from logistics.web import customer_page, gone_page, prefers_html

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

NOT_FOUND = "no label at this address"

# The API description lives at the top of the repository; logistics/openapi.yaml links to it, so that a
# built wheel carries a copy as package data and an editable install serves the file itself.
OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"


class CustomerLabelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["4x6", "a4"] = "a4"


@routes.get("/v1/labels/{token}")
async def customer_label(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    token = request.match_info["token"]
    # A browser (Accept: text/html) gets the customer's page; ?format= always gets the PDF.
    html = prefers_html(request)
    if html and "format" not in request.query:
        return await customer_page(request, token)
    query = query_model(CustomerLabelQuery, request)
    document = await svc.labels.render_for_token(token, query.format)
    if document is None:
        if html:  # a person following a link that no longer works is told why; a machine is not
            opened = await svc.customer_links.open(token)
            if isinstance(opened, GoneLink):
                return gone_page(request, opened)
        raise NotFound(NOT_FOUND, code="label.not_found")  # unknown, expired and revoked alike
    response = await pdf_response(request, document)
    response.headers["Vary"] = "Accept"
    return response


@routes.post("/v1/carriers/{carrier}/events")
async def carrier_events(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    name = request.match_info["carrier"]
    adapter = svc.carriers.get(name)
    if adapter is None or Capability.PUSH_EVENTS not in adapter.capabilities:
        # A carrier that does not push tracking (it is polled) has no endpoint here, as an unknown one.
        raise NotFound("no such carrier", code="carrier.not_found")
    body = await read_body(request, svc.settings.max_body_bytes)
    try:
        events = adapter.parse_push(request.headers, body)
    except CarrierPushAuthError as exc:
        logger.warning("refused a %s push: %s", name, exc.message)
        raise NotAuthenticated("the push's credential or signature is not valid", code="carrier.push_auth") from exc
    except CarrierPushError as exc:
        raise InvalidRequest(
            f"the push is not valid: {exc.message}", code="carrier.push_malformed", status=400
        ) from exc
    await svc.tracking.check_known(name, events)
    result = await svc.tracking.ingest(name, events, "push")
    return json_response({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    checks: dict[str, str] = {}
    status = 200
    try:
        await svc.store.ping()
        checks["database"] = "ok"
    except Exception as exc:  # a health check reports every failure, whatever it is
        logger.warning("health: database check failed: %s", exc)
        checks["database"] = "failing"
        status = 503
    checks["coverage"] = f"generation {svc.coverage.generation}"
    return json_response({"status": "ok" if status == 200 else "failing", "checks": checks}, status=status)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    depth = await svc.store.reader().outbox_depth()
    for outbox, count in depth.items():
        svc.metrics.outbox_depth.labels(outbox).set(count)
    return web.Response(body=generate_latest(svc.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(text=OPENAPI_PATH.read_text(encoding="utf-8"), content_type="application/yaml")


@routes.post("/v1/admin/coverage/reload")
async def reload_coverage(request: web.Request) -> web.Response:
    if principal_of(request).role != "operator":
        raise Forbidden("this operation is for operators", code="auth.role_forbidden")
    svc = request.app[SERVICES]
    await read_body(request, svc.settings.max_body_bytes)
    try:
        svc.coverage.reload()
    except Exception as exc:  # the reason goes back to the operator; the coverage in service stays
        raise InvalidRequest(
            f"the coverage file was refused; the previous one stays in service: {exc}",
            code="coverage.refused",
        ) from exc
    return json_response({"generation": svc.coverage.generation, "source": svc.coverage.source})
