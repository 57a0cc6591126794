"""Routes without an API key: customers' label links, carriers' pushes (verified per carrier),
health, metrics and the API description. Plus the operators' coverage reload and booking retries."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from carriers import Capability, CarrierPushAuthError, CarrierPushError
from logistics.api.auth import require_operator, require_operator_unless_public
from logistics.api.bodies import body_model, query_model, read_body
from logistics.api.keys import SERVICES
from logistics.api.routes_repairs import json_response, pdf_response
from logistics.errors import InvalidRequest, NotAuthenticated, NotFound
from logistics.services.customer_links import GoneLink
from logistics.web import customer_page, gone_page, prefers_html

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

NOT_FOUND = "no label at this address"

# The API description lives at the top of the repository; logistics/openapi.yaml links to it, so that a
# built wheel carries a copy as package data and an editable install serves the file itself.
OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"


class CustomerLabelQuery(BaseModel):
    # Mail tools add tracking parameters (utm_source...) to the links they carry: ignored.
    model_config = ConfigDict(extra="ignore")

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
    except (ValueError, RecursionError) as exc:
        # An adapter's decoder met what no carrier sends (nesting past its recursion limit, a number past
        # Python's digit limit): a malformed push, not a failure of ours.
        logger.warning("refused a %s push its adapter could not decode: %s", name, type(exc).__name__)
        raise InvalidRequest(
            "the push is not valid: its body could not be decoded", code="carrier.push_malformed", status=400
        ) from exc
    # Per event: the known ones are stored, each refused one is listed with its reason, and the push as a
    # whole is answered 202, so the carrier does not retry a batch that can never pass.
    result = await svc.tracking.ingest(name, events, "push")
    refused = [
        {"tracking_number": r.tracking_number, "event_id": r.event_id, "code": r.code, "reason": r.reason}
        for r in result.refused
    ]
    return json_response({"accepted": result.accepted, "duplicates": result.duplicates, "refused": refused}, status=202)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    checks: dict[str, str] = {}
    status = 200
    try:
        await svc.store.ping()
        refusal = await svc.store.writable()
    except Exception as exc:  # a health check reports every failure, whatever it is
        refusal = str(exc) or type(exc).__name__
    if refusal is None:
        checks["database"] = "ok"
    else:
        logger.warning("health: the database is failing: %s", refusal)
        checks["database"] = "failing"
        checks["database_reason"] = refusal
        status = 503
    checks["coverage"] = f"generation {svc.coverage.generation}"
    for name, carrier in sorted(svc.carriers.items()):
        # Reported, never failing the check: a carrier that is down does not make this service unhealthy.
        breaker = getattr(carrier, "breaker", None)
        if breaker is not None:
            checks[f"carrier:{name}"] = f"breaker {breaker.state.value}"
    answer = json_response({"status": "ok" if status == 200 else "failing", "checks": checks}, status=status)
    if status == 503:
        answer.headers["Retry-After"] = "30"
    return answer


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_operator_unless_public(request)
    svc = request.app[SERVICES]
    depth = await svc.outboxes.depth()
    for outbox, count in depth.items():
        svc.metrics.outbox_depth.labels(outbox).set(count)
    return web.Response(body=generate_latest(svc.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    require_operator_unless_public(request)
    return web.Response(text=OPENAPI_PATH.read_text(encoding="utf-8"), content_type="application/yaml")


@routes.post("/v1/admin/coverage/reload")
async def reload_coverage(request: web.Request) -> web.Response:
    require_operator(request)
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


# Failed bookings retried by the request itself, at most; more are left to the bookings worker.
RETRY_INLINE = 20


class RetryBookings(BaseModel):
    """Which failed bookings to retry: one repair's, one carrier's, or all of them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    repair_id: str | None = Field(default=None, min_length=1, max_length=64)
    carrier: str | None = Field(default=None, min_length=1, max_length=64)
    all: bool = False

    @model_validator(mode="after")
    def _one_scope(self) -> RetryBookings:
        if sum((self.repair_id is not None, self.carrier is not None, self.all)) != 1:
            raise ValueError("give exactly one of repair_id, carrier or all: true")
        return self


@routes.post("/v1/admin/bookings/retry")
async def retry_bookings(request: web.Request) -> web.Response:
    require_operator(request)
    svc = request.app[SERVICES]
    body = await read_body(request, svc.settings.max_body_bytes)
    scope = body_model(RetryBookings, request, body)
    queued = await svc.bookings.retry_failed(repair_id=scope.repair_id, carrier=scope.carrier)
    items = []
    for index, intent in enumerate(queued):
        if index < RETRY_INLINE:
            await svc.bookings.attempt(intent.reference)
        done = await svc.store.reader().intent(intent.reference) or intent
        items.append(
            {
                "reference": done.reference,
                "repair_id": done.repair_id,
                "carrier": done.carrier,
                "operation": done.operation,
                "status": done.status,
                "last_error": done.last_error,
            }
        )
    return json_response({"retried": items})
