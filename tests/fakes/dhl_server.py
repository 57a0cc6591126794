"""A fake DHL Express MyDHL API 3.1.1 server: a real aiohttp app on 127.0.0.1, checked against DHL's spec.

Every request is validated against DHL's own OpenAPI document (``shared/carrier-specs`` beside the
repository): Basic credentials, the required ``x-version`` header, ``Message-Reference`` length, path and
query parameters and the JSON body (with jsonschema; ``$ref``s resolve inside the document). A request that
breaks the spec gets DHL's problem body (400 for parameters, 422 for the body) and is recorded in
``violations`` so the test that caused it fails loudly. Answers are built in DHL's formats and are checked
against the spec's response schemas too.

Behaviour: a new dispatch confirmation number per pickup POST and a new waybill (ten digits, mod-7 check
digit) per shipment POST, with a binary PDF label showing the waybill in Code 39 (see ``carrier_labels``),
kept by our reference (``remark`` of a pickup, the ``CU`` customer reference of a
shipment); ``GET /tracking?shipmentReference=`` finds shipments by that reference, once
``reference_search_lag`` has passed since the booking, as DHL's index lags; scripted checkpoints
are served oldest first. Faults are queued per operation (``create_pickup``, ``cancel_pickup``,
``create_shipment``, ``track``): 429 with or without Retry-After, a 503 HTML page, DHL's 500 ``999: Process
failure``, a stall past the client's timeout, a connection reset, a stall after the booking is applied,
a ``998`` rejection and a 422 schema error.

Run alone with ``python -m tests.fakes.dhl_server --port 8085``; ``GET /__fake/bookings`` lists bookings
by reference.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import functools
import itertools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from aiohttp import web

from tests.fakes.carrier_labels import dhl_label_pdf

SPEC_FILE = "dhl_express_mydhl_api_3.1.1_swagger.yaml"
API_VERSION = "3.1.0"
OPERATIONS = ("create_pickup", "cancel_pickup", "create_shipment", "track", "get_image")
Operation = Literal["create_pickup", "cancel_pickup", "create_shipment", "track", "get_image"]


def spec_path() -> Path:
    """DHL's spec in ``shared/carrier-specs`` next to the repository (the repository's parent folder)."""
    repository = Path(__file__).resolve().parents[2]
    return repository.parent / "shared" / "carrier-specs" / SPEC_FILE


# --------------------------------------------------------------------------------------------------------
# The spec


class _SpecLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.1 would turn ``NO`` into False and ``2020-06-01`` into a date: JSON Schema wants strings.

    libyaml's loader also tolerates the stray TAB characters in DHL's file, where the pure-Python one stops.
    """


_SpecLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _decimal_numbers(node: Any) -> Any:
    """``multipleOf: 0.001`` only works on exact numbers: floats in the schema become Decimals."""
    if isinstance(node, dict):
        return {k: _decimal_numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decimal_numbers(v) for v in node]
    if isinstance(node, float):
        return Decimal(repr(node))
    return node


class MyDhlSpec:
    """DHL's OpenAPI 3.0 document with validators for request and response bodies and parameters.

    OpenAPI 3.0 schemas are JSON Schema draft 4 plus a few keywords (``example``, ``nullable``; this spec
    uses no ``nullable``), so draft-4 validation of the document's own schemas is faithful.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not str(document.get("openapi", "")).startswith("3.0"):
            raise ValueError("expected an OpenAPI 3.0 document")
        self.document: dict[str, Any] = _decimal_numbers(dict(document))
        self._components = self.document["components"]
        self._validators: dict[str, jsonschema.Draft4Validator] = {}

    def _resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return dict(node)

    def validator(self, schema: Mapping[str, Any]) -> jsonschema.Draft4Validator:
        key = json.dumps(schema, sort_keys=True, default=str)
        found = self._validators.get(key)
        if found is None:
            # The components ride along so "#/components/..." references resolve inside the document.
            found = jsonschema.Draft4Validator({**schema, "components": self._components})
            self._validators[key] = found
        return found

    def operation(self, method: str, template: str) -> dict[str, Any]:
        path_item = self.document["paths"][template]
        operation = dict(path_item[method.lower()])
        parameters = [self._resolve(p) for p in path_item.get("parameters", [])]
        parameters += [self._resolve(p) for p in operation.get("parameters", [])]
        operation["parameters"] = parameters
        return operation

    def body_errors(self, schema: Mapping[str, Any], instance: Any) -> list[str]:
        errors = sorted(self.validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"#/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]

    def request_errors(
        self,
        method: str,
        template: str,
        *,
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
        path_params: Mapping[str, str],
        body: Any,
    ) -> tuple[list[str], list[str]]:
        """(parameter errors, body errors) of one request against the operation in the spec."""
        operation = self.operation(method, template)
        param_errors: list[str] = []
        declared_query = set()
        for parameter in operation["parameters"]:
            name, where, schema = parameter["name"], parameter["in"], parameter.get("schema", {})
            if where == "header":
                raw = headers.get(name)
                values = None if raw is None else [raw]
            elif where == "query":
                declared_query.add(name)
                values = query.get(name)
            elif where == "path":
                values = [path_params[name]] if name in path_params else None
            else:
                continue
            if not values:
                if parameter.get("required"):
                    param_errors.append(f"Missing mandatory parameters: {name}")
                continue
            value = _parameter_value(schema, values)
            for message in self.body_errors(schema, value):
                param_errors.append(f"Parameters not having correct format: {name} {message}")
            if name == "x-version" and values[0] != schema.get("default"):
                param_errors.append(f"x-version must be {schema.get('default')}")
        unknown = sorted(set(query) - declared_query)
        if unknown:
            param_errors.append(f"Unknown parameters: {', '.join(unknown)}")
        body_errors: list[str] = []
        request_body = operation.get("requestBody")
        if request_body is not None:
            schema = request_body["content"]["application/json"]["schema"]
            if body is None:
                if request_body.get("required"):
                    body_errors.append("#/: request body required")
            else:
                body_errors = self.body_errors(schema, body)
        elif body is not None:
            body_errors.append("#/: no request body expected")
        return param_errors, body_errors

    def response_errors(self, method: str, template: str, status: int, body: Any) -> list[str]:
        responses = self.operation(method, template)["responses"]
        response = responses.get(str(status))
        if response is None:
            return [f"status {status} is not declared for {method} {template}"]
        content = self._resolve(response).get("content")
        if not content:
            return []
        return self.body_errors(content["application/json"]["schema"], body)


def _parameter_value(schema: Mapping[str, Any], values: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return [_scalar(schema.get("items", {}), v) for v in values]
    if len(values) > 1:
        return values  # a repeated scalar fails the type check, as it should
    return _scalar(schema, values[0])


def _scalar(schema: Mapping[str, Any], value: str) -> Any:
    kind = schema.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if kind in ("number", "integer"):
        try:
            return int(value) if kind == "integer" else Decimal(value)
        except ArithmeticError:
            return value
        except ValueError:
            return value
    return value


@functools.cache
def load_spec(path: Path | None = None) -> MyDhlSpec:
    """Parse DHL's 1.2 MB spec once per process."""
    source = path or spec_path()
    with source.open("rb") as handle:
        document = yaml.load(handle, Loader=_SpecLoader)
    return MyDhlSpec(document)


# --------------------------------------------------------------------------------------------------------
# Wire formats


def waybill(serial: int) -> str:
    """A DHL Express waybill: nine serial digits and their remainder modulo 7."""
    digits = f"{serial:09d}"[-9:]
    return f"{digits}{int(digits) % 7}"


def minimal_pdf(text: str) -> bytes:
    """A small but well-formed one-page PDF (4×6 in) showing ``text``: the label DHL would render."""
    safe = re.sub(r"[()\\]", "", text)
    stream = f"BT /F1 18 Tf 20 380 Td ({safe}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_PLANNED = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}) ?GMT([+-])(\d{2}):(\d{2})$")


def _planned_local_date(value: str) -> date | None:
    matched = _PLANNED.match(value)
    if not matched:
        return None
    try:
        return date.fromisoformat(matched.group(1))
    except ValueError:
        return None


def problem(status: int, instance: str, detail: str, title: str, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"instance": f"/expressapi{instance}", "detail": detail, "title": title}
    body["message"] = message or title
    body["status"] = str(status)
    return body


# --------------------------------------------------------------------------------------------------------
# State


@dataclass
class Booking:
    kind: Literal["pickup", "shipment"]
    reference: str
    number: str
    created_at: datetime
    body: dict[str, Any]
    message_reference: str
    pieces: tuple[str, ...] = ()
    cancelled: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "number": self.number,
            "created_at": self.created_at.isoformat(),
            "cancelled": self.cancelled,
            "message_reference": self.message_reference,
            "pieces": list(self.pieces),
        }


@dataclass(frozen=True)
class Checkpoint:
    type_code: str
    at: datetime
    description: str
    area_code: str = "CDG"
    area_description: str = "PARIS-FR"


@dataclass(frozen=True)
class Fault:
    """One injected failure, consumed by the next request of its operation."""

    kind: Literal[
        "rate_limit",
        "html_503",
        "process_failure",
        "stall",
        "reset",
        "stall_after_apply",
        "reset_after_apply",
        "html_503_after_apply",
        "reject_998",
        "schema_422",
    ]
    retry_after: str | None = None
    detail: str = ""

    @classmethod
    def rate_limited(cls, retry_after: str | None = None) -> Fault:
        return cls("rate_limit", retry_after=retry_after)

    @classmethod
    def unavailable_html(cls) -> Fault:
        return cls("html_503")

    @classmethod
    def process_failure(cls) -> Fault:
        return cls("process_failure")

    @classmethod
    def stall(cls) -> Fault:
        return cls("stall")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def stall_after_apply(cls) -> Fault:
        return cls("stall_after_apply")

    @classmethod
    def reset_after_apply(cls) -> Fault:
        return cls("reset_after_apply")

    @classmethod
    def unavailable_after_apply(cls) -> Fault:
        return cls("html_503_after_apply")

    @classmethod
    def rejected(cls, detail: str = "998: Planned pickup date should not be a past date") -> Fault:
        return cls("reject_998", detail=detail)

    @classmethod
    def schema_error(cls, detail: str = "#/content/packages/0: extraneous key [foo] is not permitted") -> Fault:
        return cls("schema_422", detail=detail)


class _Reset(Exception):
    """Raised in a handler to drop the connection without an answer."""


_STATUS_TITLES = {400: "Bad request", 401: "Unauthorized", 404: "Not data found", 422: "Validation error"}


class FakeDhlServer:
    """The fake MyDHL API. ``start()`` binds 127.0.0.1 and returns the base URL; ``stop()`` releases it."""

    def __init__(
        self,
        spec: MyDhlSpec,
        *,
        api_key: str = "fake-key",
        api_secret: str = "fake-secret",
        account_number: str = "123456789",
        clock: Callable[[], datetime] | None = None,
        first_serial: int = 110373390,
    ) -> None:
        self.spec = spec
        self.account_number = account_number
        self._credentials = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._serials = itertools.count(first_serial)
        self._dispatch = itertools.count(1)
        self._pieces = itertools.count(4617230770)
        self.bookings: dict[str, list[Booking]] = collections.defaultdict(list)
        self.pickups: dict[str, Booking] = {}
        self.shipments: dict[str, Booking] = {}
        self.labels: dict[str, bytes] = {}  # the label PDF issued for each waybill
        self.images_served = 0
        self.checkpoints: dict[str, list[Checkpoint]] = collections.defaultdict(list)
        self.faults: dict[str, collections.deque[Fault]] = {op: collections.deque() for op in OPERATIONS}
        self.calls: collections.Counter[str] = collections.Counter()
        self.requests: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.rejections: list[str] = []
        #: Leave ``GMTOffset`` out of events (DHL only promises it with ``requestGMTOffsetPerEvent``).
        self.omit_gmt_offsets = False
        # DHL indexes a new shipment for the search by reference 10 to 30 minutes after it is booked.
        self.reference_search_lag = timedelta(0)
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- test controls --------------------------------------------------------------------------------

    def inject(self, operation: Operation, *faults: Fault) -> None:
        if operation not in self.faults:
            raise ValueError(f"unknown operation {operation!r}")
        self.faults[operation].extend(faults)

    def booking_count(self, reference: str, kind: Literal["pickup", "shipment"] | None = None) -> int:
        return sum(1 for b in self.bookings.get(reference, []) if kind is None or b.kind == kind)

    def scan(
        self,
        number: str,
        type_code: str,
        at: datetime,
        description: str = "",
        *,
        area: tuple[str, str] = ("CDG", "PARIS-FR"),
    ) -> None:
        """Record a checkpoint on a waybill (known or not: DHL tracks numbers issued elsewhere too)."""
        if at.tzinfo is None:
            raise ValueError("checkpoint time must be aware")
        self.checkpoints[number].append(
            Checkpoint(type_code, at, description or f"Checkpoint {type_code}", area[0], area[1])
        )

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {ref: [b.summary() for b in items] for ref, items in self.bookings.items()}

    # -- lifecycle ------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/pickups", self._create_pickup)
        app.router.add_delete("/pickups/{dispatchConfirmationNumber}", self._cancel_pickup)
        app.router.add_post("/shipments", self._create_shipment)
        app.router.add_get("/shipments/{shipmentTrackingNumber}/tracking", self._track_one)
        app.router.add_get("/shipments/{shipmentTrackingNumber}/get-image", self._get_image)
        app.router.add_get("/tracking", self._track_many)
        app.router.add_get("/__fake/bookings", self._fake_bookings)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._release = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        address = self._runner.addresses[0]
        self.base_url = f"http://{address[0]}:{address[1]}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- plumbing -------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.path.startswith("/__fake/"):
            response: web.StreamResponse = await handler(request)
            return response
        if request.headers.get("Authorization") != f"Basic {self._credentials}":
            self.violations.append(f"{request.method} {request.path}: missing or wrong Basic credentials")
            return self._json(401, problem(401, request.path, "Invalid credentials", "Unauthorized"), request)
        try:
            response = await handler(request)
        except _Reset:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        return response

    def _json(
        self,
        status: int,
        body: Mapping[str, Any],
        request: web.Request,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        content_type = "application/json" if status < 400 else "application/problem+json"
        out = {
            "Message-Reference": request.headers.get("Message-Reference") or str(uuid.uuid4()),
            "Invocation-Id": str(uuid.uuid4()),
            **(headers or {}),
        }
        return web.Response(
            status=status,
            text=json.dumps(body, default=_json_default),
            content_type=content_type,
            headers=out,
        )

    async def _enter(
        self, request: web.Request, operation: Operation, template: str
    ) -> tuple[Any, Fault | None, web.Response | None]:
        """Count, record and validate a request; returns (body, fault to apply, early answer)."""
        self.calls[operation] += 1
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw, parse_float=Decimal)
            except ValueError:
                self.violations.append(f"{operation}: body is not JSON")
                return (
                    None,
                    None,
                    self._json(400, problem(400, request.path, "Invalid JSON", "Bad request"), request),
                )
        self.requests.append(
            {
                "operation": operation,
                "headers": dict(request.headers),
                "query": request.query_string,
                "body": body,
            }
        )
        query: dict[str, list[str]] = {}
        for key in request.query:
            query.setdefault(key, request.query.getall(key))
        param_errors, body_errors = self.spec.request_errors(
            request.method,
            template,
            headers=request.headers,
            query=query,
            path_params=dict(request.match_info),
            body=body,
        )
        if request.method == "POST" and request.content_type != "application/json":
            body_errors.append(f"#/: content type {request.content_type} is not application/json")
        if param_errors:
            self.violations.extend(f"{operation}: {e}" for e in param_errors)
            detail = param_errors[0]
            return (
                body,
                None,
                self._json(400, problem(400, request.path_qs, detail, "Missing parameters", "Bad request"), request),
            )
        if body_errors:
            self.violations.extend(f"{operation}: {e}" for e in body_errors)
            detail = body_errors[0]
            return (
                body,
                None,
                self._json(
                    422,
                    problem(422, request.path, detail, "Validation error", "Unprocessable Entity"),
                    request,
                ),
            )
        fault = self.faults[operation].popleft() if self.faults[operation] else None
        if fault is not None:
            early = await self._fault_before(fault, request)
            if early is not None:
                return body, None, early
        return body, fault, None

    async def _fault_before(self, fault: Fault, request: web.Request) -> web.Response | None:
        path = request.path
        if fault.kind == "rate_limit":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self._json(429, problem(429, path, "Too many requests", "Too Many Requests"), request, headers)
        if fault.kind == "html_503":
            return web.Response(
                status=503,
                text="<html><head><title>503 Service Temporarily Unavailable</title></head>"
                "<body><h1>Service Temporarily Unavailable</h1></body></html>",
                content_type="text/html",
            )
        if fault.kind == "process_failure":
            # DHL's 500 says "code" where other problems say "status" (as in DHL's own example).
            body = {
                "instance": f"/expressapi{path}",
                "detail": "999: Process failure occurred. Process ID associated for that transaction (1234567890)",
                "title": "Internal Server Error",
                "message": "Internal Server Error",
                "code": "500",
            }
            return self._json(500, body, request)
        if fault.kind == "stall":
            await self._release.wait()
            raise _Reset
        if fault.kind == "reset":
            raise _Reset
        if fault.kind == "reject_998":
            self.rejections.append(fault.detail)
            return self._json(400, problem(400, path, fault.detail, "Bad request"), request)
        if fault.kind == "schema_422":
            return self._json(
                422, problem(422, path, fault.detail, "Validation error", "Unprocessable Entity"), request
            )
        return None  # the *_after_apply faults act after the booking

    async def _answer(
        self,
        request: web.Request,
        template: str,
        status: int,
        body: Mapping[str, Any],
        fault: Fault | None,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        errors = self.spec.response_errors(
            request.method, template, status, json.loads(json.dumps(body, default=_json_default), parse_float=Decimal)
        )
        self.violations.extend(f"fake answer to {request.method} {template}: {e}" for e in errors)
        if fault is not None and fault.kind == "stall_after_apply":
            await self._release.wait()
            raise _Reset
        if fault is not None and fault.kind == "reset_after_apply":
            raise _Reset
        if fault is not None and fault.kind == "html_503_after_apply":
            return web.Response(
                status=503, text="<html><body><h1>503 Service Unavailable</h1></body></html>", content_type="text/html"
            )
        return self._json(status, body, request, headers)

    def _date_problem(self, request: web.Request, value: str, what: str) -> web.Response | None:
        planned = _planned_local_date(value)
        if planned is None:
            detail = f"998: {what} is not well formatted.(Expected Sample Format : '2010-02-11T17:10:09 GMT+01:00')"
        else:
            today = self._clock().astimezone(UTC).date()
            if planned < today - timedelta(days=1) or planned > today + timedelta(days=10):
                detail = f"998: {what} should not be a past date or a date more than 10 days in the future"
            elif planned < today:
                detail = f"998: {what} should not be a past date"
            else:
                return None
        self.rejections.append(detail)
        return self._json(400, problem(400, request.path, detail, "Bad request"), request)

    # -- pickups --------------------------------------------------------------------------------------

    async def _create_pickup(self, request: web.Request) -> web.Response:
        template = "/pickups"
        body, fault, early = await self._enter(request, "create_pickup", template)
        if early is not None:
            return early
        rejected = self._date_problem(request, body["plannedPickupDateAndTime"], "Planned pickup date")
        if rejected is not None:
            return rejected
        now = self._clock()
        number = f"CDG{now:%y%m%d}{next(self._dispatch):06d}"
        reference = str(body.get("remark") or request.headers.get("Message-Reference", ""))
        booking = Booking("pickup", reference, number, now, body, request.headers.get("Message-Reference", ""))
        self.bookings[reference].append(booking)
        self.pickups[number] = booking
        ready = str(body["plannedPickupDateAndTime"])[11:16]
        answer = {
            "dispatchConfirmationNumbers": [number],
            "readyByTime": ready,
            "nextPickupDate": str(body["plannedPickupDateAndTime"])[:10],
        }
        return await self._answer(request, template, 201, answer, fault)

    async def _cancel_pickup(self, request: web.Request) -> web.Response:
        template = "/pickups/{dispatchConfirmationNumber}"
        _, fault, early = await self._enter(request, "cancel_pickup", template)
        if early is not None:
            return early
        number = request.match_info["dispatchConfirmationNumber"]
        booking = self.pickups.get(number)
        if booking is None:
            body = problem(
                404,
                request.path_qs,
                "Cancellation of booking was not successful. Requested Pickup was not found",
                "Pickup not found",
            )
            body.pop("message")
            return await self._answer(request, template, 404, body, fault)
        if booking.cancelled:
            body = problem(400, request.path_qs, "Pickup already cancelled or completed", "Bad request")
            return await self._answer(request, template, 400, body, fault)
        booking.cancelled = True
        if fault is not None and fault.kind == "stall_after_apply":
            await self._release.wait()
            raise _Reset
        if fault is not None and fault.kind == "reset_after_apply":
            raise _Reset
        if fault is not None and fault.kind == "html_503_after_apply":
            return web.Response(
                status=503, text="<html><body><h1>503 Service Unavailable</h1></body></html>", content_type="text/html"
            )
        return web.Response(status=200, headers={"Invocation-Id": str(uuid.uuid4())})

    # -- shipments ------------------------------------------------------------------------------------

    async def _create_shipment(self, request: web.Request) -> web.Response:
        template = "/shipments"
        body, fault, early = await self._enter(request, "create_shipment", template)
        if early is not None:
            return early
        rejected = self._date_problem(request, body["plannedShippingDateAndTime"], "ShipTimeStamp")
        if rejected is not None:
            return rejected
        now = self._clock()
        number = waybill(next(self._serials))
        pieces = tuple(f"JD01460000{next(self._pieces):010d}" for _ in body["content"]["packages"])
        references = [r["value"] for r in body.get("customerReferences", []) if r.get("typeCode", "CU") == "CU"]
        reference = references[0] if references else request.headers.get("Message-Reference", "")
        booking = Booking(
            "shipment", reference, number, now, body, request.headers.get("Message-Reference", ""), pieces
        )
        self.bookings[reference].append(booking)
        self.shipments[number] = booking
        root = f"{self.base_url}/shipments/{number}/tracking"
        receiver = body["customerDetails"]["receiverDetails"]["postalAddress"]
        label_requested = (
            any(
                o.get("typeCode") == "label" and o.get("isRequested", True)
                for o in body.get("outputImageProperties", {}).get("imageOptions", [])
            )
            or "outputImageProperties" not in body
        )
        answer: dict[str, Any] = {
            "shipmentTrackingNumber": number,
            "trackingUrl": root,
            "packages": [
                {"referenceNumber": i, "trackingNumber": p, "trackingUrl": f"{root}?pieceTrackingNumber={p}"}
                for i, p in enumerate(pieces, start=1)
            ],
            "documents": [],
            "shipmentDetails": [{"dhlRoutingCode": f"{receiver['countryCode']}{receiver['postalCode']}+48000000"}],
        }
        if label_requested:
            pdf = dhl_label_pdf(number, pieces[0], reference)
            self.labels[number] = pdf
            answer["documents"].append(
                {"imageFormat": "PDF", "content": base64.b64encode(pdf).decode(), "typeCode": "label"}
            )
        return await self._answer(request, template, 201, answer, fault, {"Location": f"/shipments/{number}"})

    # -- tracking -------------------------------------------------------------------------------------

    def _tracked(self, number: str, *, view: str, detail: str, with_offsets: bool) -> dict[str, Any] | None:
        booking = self.shipments.get(number)
        checkpoints = sorted(self.checkpoints.get(number, []), key=lambda c: c.at)
        if booking is None and not checkpoints:
            return None
        events = [] if view == "shipment-details-only" else [_event(c, with_offsets) for c in checkpoints]
        if view == "last-checkpoint":
            events = events[-1:]
        shipment: dict[str, Any] = {
            "shipmentTrackingNumber": number,
            "status": "Success",
            "events": events,
        }
        if booking is not None:
            sent = booking.body
            parties = sent["customerDetails"]
            shipment.update(
                {
                    "shipmentTimestamp": booking.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "productCode": str(sent["productCode"])[:1],
                    "description": sent["content"]["description"],
                    "shipperDetails": _tracked_party(parties["shipperDetails"]),
                    "receiverDetails": _tracked_party(parties["receiverDetails"]),
                    "totalWeight": sum(Decimal(str(p["weight"])) for p in sent["content"]["packages"]),
                    "unitOfMeasurements": "metric",
                    "shipperReferences": [
                        {"value": r["value"], "typeCode": r.get("typeCode", "CU")}
                        for r in sent.get("customerReferences", [])
                    ],
                    "numberOfPieces": len(booking.pieces),
                }
            )
            if detail in ("piece", "all"):
                shipment["pieces"] = [
                    {
                        "number": i,
                        "typeCode": "PIECE",
                        "shipmentTrackingNumber": number,
                        "trackingNumber": piece,
                        "weight": Decimal(str(sent["content"]["packages"][i - 1]["weight"])),
                        "unitOfMeasurements": "metric",
                        "events": events,
                    }
                    for i, piece in enumerate(booking.pieces, start=1)
                ]
        return shipment

    async def _get_image(self, request: web.Request) -> web.Response:
        """The waybill document archived with a shipment (DHL keeps it; a label is not issued again)."""
        template = "/shipments/{shipmentTrackingNumber}/get-image"
        _, fault, early = await self._enter(request, "get_image", template)
        if early is not None:
            return early
        number = request.match_info["shipmentTrackingNumber"]
        booking = self.shipments.get(number)
        month = request.query.get("pickupYearAndMonth", "")
        if (
            booking is None
            or number not in self.labels
            or booking.created_at.strftime("%Y-%m") != month
            or request.query.get("shipperAccountNumber") != self.account_number
        ):
            detail = "1504: No document images found for the provided search criteria."
            return await self._answer(request, template, 404, problem(404, request.path_qs, detail, "Not found"), fault)
        document = {
            "shipmentTrackingNumber": number,
            "typeCode": "waybill",
            "encodingFormat": "PDF",
            "content": base64.b64encode(self.labels[number]).decode(),
        }
        self.images_served += 1
        return await self._answer(request, template, 200, {"documents": [document]}, fault)

    async def _track_one(self, request: web.Request) -> web.Response:
        template = "/shipments/{shipmentTrackingNumber}/tracking"
        _, fault, early = await self._enter(request, "track", template)
        if early is not None:
            return early
        number = request.match_info["shipmentTrackingNumber"]
        shipment = self._tracked(
            number,
            view=request.query.get("trackingView", "all-checkpoints"),
            detail=request.query.get("levelOfDetail", "shipment"),
            with_offsets=request.query.get("requestGMTOffsetPerEvent") == "true" and not self.omit_gmt_offsets,
        )
        if shipment is None:
            return await self._answer(
                request,
                template,
                404,
                problem(404, request.path_qs, "No data found", "Not data found"),
                fault,
            )
        return await self._answer(request, template, 200, {"shipments": [shipment]}, fault)

    async def _track_many(self, request: web.Request) -> web.Response:
        template = "/tracking"
        _, fault, early = await self._enter(request, "track", template)
        if early is not None:
            return early
        view = request.query.get("trackingView", "all-checkpoints")
        detail = request.query.get("levelOfDetail", "shipment")
        # GET /tracking gives local times without offsets: requestGMTOffsetPerEvent is a parameter of the
        # single-shipment call only.
        with_offsets = False
        reference = request.query.get("shipmentReference")
        if reference is not None:
            return await self._track_reference(request, template, reference, fault, view, detail)
        numbers = list(request.query.getall("shipmentTrackingNumber", []))
        pieces = set(request.query.getall("pieceTrackingNumber", []))
        for piece in pieces:
            numbers += [n for n, b in self.shipments.items() if piece in b.pieces and n not in numbers]
        if not numbers:
            body = problem(
                400,
                request.path_qs,
                "Missing mandatory parameters: shipmentTrackingNumber",
                "Missing parameters",
                "Bad request",
            )
            self.violations.append("track: no number and no reference")
            return await self._answer(request, template, 400, body, fault)
        shipments = [s for n in numbers if (s := self._tracked(n, view=view, detail=detail, with_offsets=with_offsets))]
        if not shipments:
            return await self._answer(
                request,
                template,
                404,
                problem(404, request.path_qs, "No data found", "Not data found"),
                fault,
            )
        return await self._answer(request, template, 200, {"shipments": shipments}, fault)

    async def _track_reference(
        self, request: web.Request, template: str, reference: str, fault: Fault | None, view: str, detail: str
    ) -> web.Response:
        account = request.query.get("shipperAccountNumber")
        if account is None:
            body = problem(
                400,
                request.path_qs,
                "Missing mandatory parameters: shipperAccountNumber",
                "Missing parameters",
                "Bad request",
            )
            self.violations.append("track: reference search without shipperAccountNumber")
            return await self._answer(request, template, 400, body, fault)
        kind = request.query.get("shipmentReferenceType", "CU")
        try:
            first = date.fromisoformat(request.query["dateRangeFrom"])
            last = date.fromisoformat(request.query["dateRangeTo"])
        except (KeyError, ValueError):
            self.violations.append("track: reference search needs dateRangeFrom and dateRangeTo as dates")
            body = problem(
                400,
                request.path_qs,
                "Parameters not having correct format: dateRangeFrom/dateRangeTo",
                "Bad request",
            )
            return await self._answer(request, template, 400, body, fault)
        found = []
        indexed_before = self._clock() - self.reference_search_lag
        for number, booking in self.shipments.items():
            if booking.created_at > indexed_before:
                continue  # not in DHL's reference search yet
            sent = booking.body
            planned = _planned_local_date(str(sent["plannedShippingDateAndTime"]))
            refs = [(r["value"], r.get("typeCode", "CU")) for r in sent.get("customerReferences", [])]
            accounts = [a["number"] for a in sent["accounts"] if a["typeCode"] == "shipper"]
            if (reference, kind) in refs and account in accounts and planned is not None and first <= planned <= last:
                tracked = self._tracked(number, view=view, detail=detail, with_offsets=False)
                if tracked is not None:
                    found.append(tracked)
        if not found:
            body = problem(404, request.path_qs, f"No Shipments Found for ReferenceID | {reference}", "Not data found")
            return await self._answer(request, template, 404, body, fault)
        return await self._answer(request, template, 200, {"shipments": found}, fault)

    async def _fake_bookings(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())


def _event(checkpoint: Checkpoint, with_offset: bool) -> dict[str, Any]:
    local = checkpoint.at
    event: dict[str, Any] = {
        "date": f"{local:%Y-%m-%d}",
        "time": f"{local:%H:%M:%S}",
        "typeCode": checkpoint.type_code,
        "description": checkpoint.description,
        "serviceArea": [{"code": checkpoint.area_code, "description": checkpoint.area_description}],
    }
    if with_offset:
        offset = local.utcoffset() or timedelta(0)
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        event["GMTOffset"] = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    # Without an offset DHL's local wall time at the facility is all there is (the checkpoint's own zone).
    return event


def _tracked_party(sent: Mapping[str, Any]) -> dict[str, Any]:
    postal = sent["postalAddress"]
    return {
        "name": sent["contactInformation"]["fullName"],
        "postalAddress": {
            "cityName": postal["cityName"],
            "postalCode": postal["postalCode"],
            "countryCode": postal["countryCode"],
        },
        "serviceArea": [{"code": "CDG", "description": f"{postal['cityName'].upper()}-{postal['countryCode']}"}],
    }


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------------------------------------
# Standalone


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake DHL Express MyDHL API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--api-key", default="fake-key")
    parser.add_argument("--api-secret", default="fake-secret")
    parser.add_argument("--account", default="123456789")
    parser.add_argument("--spec", type=Path, default=None, help=f"path to {SPEC_FILE}")
    args = parser.parse_args(argv)
    server = FakeDhlServer(
        load_spec(args.spec), api_key=args.api_key, api_secret=args.api_secret, account_number=args.account
    )

    async def serve() -> None:
        url = await server.start(port=args.port)
        print(f"fake DHL Express listening on {url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()


__all__ = [
    "Booking",
    "Checkpoint",
    "FakeDhlServer",
    "Fault",
    "MyDhlSpec",
    "load_spec",
    "minimal_pdf",
    "spec_path",
    "waybill",
]
