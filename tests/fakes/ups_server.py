"""A fake UPS: a real aiohttp app on 127.0.0.1 that speaks UPS's published REST formats.

Every request is checked against UPS's own OpenAPI documents (OAuth client credentials, Pickup, Shipping,
Tracking) with jsonschema: body, declared headers and the bearer token. A request that does not validate
gets a 400 in UPS's error shape and is recorded in ``schema_violations``, so tests fail loudly. Every
answer the fake gives is validated against the response schema too (``response_violations``).

Behaviour modelled on UPS:

* tokens: Basic auth, form body, string-typed fields; ``expire_tokens()`` makes the next call get UPS's
  401 ``250002``;
* pickups: the same PRN for a second pickup at the same address on the same date; Pending Status shows live
  pickups for today and tomorrow only, with our ``ReferenceNumber``; cancelling twice is refused;
* shipments: a new, check-digit-valid 1Z on every POST, with its label as UPS draws it (a 4×6 GIF at
  203 dpi whose Code 128 scans to the 1Z, or ZPL; see ``carrier_labels``); a manifest scan at creation;
  void adds ``MV``;
* tracking: by number and by reference; unknown numbers answer 404 (or, with ``not_found="warning"``,
  200 with warning ``TW0001``);
* faults, queued per operation (see ``Fault``): 429 with or without Retry-After, HTML 503, a stall longer
  than the client's timeout, a connection reset, a timeout after the booking was applied, an expired token,
  a validation rejection;
* ``legacy_single_objects``: answer single objects where one-item arrays are declared, as UPS versions
  before v2403 did.

The specs are read from the ``shared/carrier-specs`` folder beside the repository; ``specs_available()``
says whether it is there (tests skip otherwise). Run standalone with
``python -m tests.fakes.ups_server --port N``; ``GET /__fake/bookings`` lists bookings per reference and
``POST /__fake/faults`` queues a fault (``{"operation": ..., "kind": ..., ...}``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import itertools
import json
import logging
import secrets
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from aiohttp import web

from tests.fakes.carrier_labels import ups_label, ups_zpl

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "carrier-specs"
SPEC_FILES = {
    "oauth": "ups_OAuthClientCredentials.yaml",
    "pickup": "ups_Pickup.yaml",
    "shipping": "ups_Shipping.yaml",
    "tracking": "ups_Tracking.yaml",
    "track_alert": "ups_UPSTrackAlert.yaml",
}


AFTER_APPLY = frozenset({"timeout_after_apply", "reset_after_apply", "unavailable_after_apply"})

OPERATIONS = (
    "oauth",
    "schedule_pickup",
    "cancel_pickup",
    "find_pickup",
    "create_shipment",
    "void_shipment",
    "track",
    "find_shipment",
    "recover_label",
    "subscribe",
)


def specs_available(spec_dir: Path = SPEC_DIR) -> bool:
    return all((spec_dir / name).is_file() for name in SPEC_FILES.values())


def load_spec(name: str, spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    """One official document, parsed once; TABs replaced first (UPS's files contain some), four fixes applied."""
    return _load_spec(name, spec_dir.resolve())


@functools.cache
def _load_spec(name: str, spec_dir: Path) -> dict[str, Any]:
    text = (spec_dir / SPEC_FILES[name]).read_text(encoding="utf-8").replace("\t", "  ")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader parses the 600 kB Shipping file fast
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    if name == "pickup":
        schemas = document["components"]["schemas"]
        # Declared 4 characters, documented yyyyMMdd: follow the documentation.
        schemas["PickupCreationRequest_PickupDateInfo"]["properties"]["PickupDate"].update(minLength=8, maxLength=8)
        # Declared exactly 6 characters, documented and exemplified as "5.5": at most 6 characters.
        schemas["PickupCreationRequest_TotalWeight"]["properties"]["Weight"].update(minLength=1, maxLength=6)
    if name == "shipping":
        schemas = document["components"]["schemas"]
        # Declared required, documented for Roadie (1R) labels only; a 1Z label is recovered by TrackingNumber
        # alone, as UPS's own standard example does.
        schemas["LabelRecoveryRequest"]["required"] = ["Request"]
        # Declared exactly 4 characters, documented "GIF or PDF": at least 3.
        schemas["LabelImage_LabelImageFormat"]["properties"]["Code"].update(minLength=3)
    return document


def ups_check_digit(body: str) -> str:
    """Check digit of a 1Z number over the 15 characters after "1Z" (letters map to (ord - 3) mod 10)."""
    total = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 3) % 10
        total += value * 2 if index % 2 else value
    return str((10 - total % 10) % 10)


def is_valid_1z(number: str) -> bool:
    return (
        len(number) == 18
        and number.startswith("1Z")
        and number.isalnum()
        and number.isupper()
        and ups_check_digit(number[2:17]) == number[17]
    )


_VALIDATORS: dict[tuple[Path, str, str], Any] = {}


class SchemaValidators:
    """jsonschema validators for named component schemas, $refs resolved within each document."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self._spec_dir = spec_dir
        self._cache = _VALIDATORS  # shared: building them is the slow part, and they hold no state

    def errors(self, spec: str, schema: str | dict[str, Any], instance: Any) -> list[str]:
        key = (self._spec_dir, spec, json.dumps(schema, sort_keys=True) if isinstance(schema, dict) else schema)
        validator = self._cache.get(key)
        if validator is None:
            document = load_spec(spec, self._spec_dir)
            root = dict(schema) if isinstance(schema, dict) else {"$ref": f"#/components/schemas/{schema}"}
            root["components"] = document["components"]
            validator = jsonschema.Draft7Validator(root)
            self._cache[key] = validator
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:200]}"
            for error in validator.iter_errors(instance)
        ]


def warm_up(spec_dir: Path = SPEC_DIR) -> None:
    """Parse the documents and build the validators now, so that the first request is not slow."""
    validators = SchemaValidators(spec_dir)
    for spec, schema in (
        ("pickup", "PICKUPCreationRequestWrapper"),
        ("shipping", "SHIPRequestWrapper"),
        ("shipping", "SHIPResponseWrapper"),
        ("tracking", "TrackApiResponse"),
        ("track_alert", "TrackingEventRequest"),
        ("track_alert", "PackageSubscriptionRequest"),
    ):
        document = load_spec(spec, spec_dir)
        validators.errors(spec, schema, _skeleton(document, {"$ref": f"#/components/schemas/{schema}"}, 0))


def _skeleton(document: dict[str, Any], schema: Any, depth: int) -> Any:
    # An instance with every declared property, so one validation resolves every $ref of the schema once.
    while isinstance(schema, dict) and "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(schema, dict) or depth > 12:
        return "x"
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            merged: dict[str, Any] = {}
            for part in schema[key]:
                value = _skeleton(document, part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
    if schema.get("type") == "array" or "items" in schema:
        return [_skeleton(document, schema.get("items", {}), depth + 1)]
    if schema.get("type") == "object" or "properties" in schema:
        return {name: _skeleton(document, sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
    return "x"


@dataclass
class Fault:
    """One injected misbehaviour, consumed by the next request of its operation."""

    # rate_limited | unavailable_html | stall | reset | expired_token | reject, or one applied first (the
    # booking is made, the client does not learn it): timeout_after_apply | reset_after_apply |
    # unavailable_after_apply
    kind: str
    retry_after: str | None = None  # for rate_limited: delay-seconds or an HTTP-date
    code: str = "120100"  # for reject
    message: str = "Missing or invalid data"  # for reject
    status: int = 400  # for reject

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        return cls(**{key: value for key, value in data.items() if key != "operation"})


@dataclass
class PickupRecord:
    prn: str
    reference: str | None
    address_key: tuple[str, ...]
    pickup_date: date
    contact: str
    cancelled: bool = False


@dataclass
class Scan:
    at: datetime
    type: str
    code: str
    description: str
    city: str = ""
    country: str = ""


@dataclass
class ShipmentRecord:
    shipment_id: str
    tracking_numbers: list[str]
    reference: str | None
    is_return: bool
    shipper_number: str
    voided: bool = False
    scans: list[Scan] = field(default_factory=list)


def _ups_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"response": {"errors": [{"code": code, "message": message}]}}
    return web.json_response(body, status=status, headers=headers)


class FakeUps:
    """The fake's state and its aiohttp application. Use ``async with FakeUps() as fake: fake.base_url``."""

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        account_number: str = "A1B2C3",
        token_lifetime_s: int = 14399,
        clock: Callable[[], datetime] | None = None,
        not_found: str = "404",
        legacy_single_objects: bool = False,
        spec_dir: Path = SPEC_DIR,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_number = account_number
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock or (lambda: datetime.now(UTC))
        self.not_found = not_found
        self.legacy_single_objects = legacy_single_objects
        self.validators = SchemaValidators(spec_dir)
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.schema_violations: list[str] = []
        self.response_violations: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.calls: dict[str, int] = defaultdict(int)
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.pickups: dict[str, PickupRecord] = {}
        self.pickup_creations: dict[str, int] = defaultdict(int)
        self.shipments: dict[str, ShipmentRecord] = {}
        self.shipment_creations: dict[str, int] = defaultdict(int)
        self.last_bodies: dict[str, Any] = {}
        self.labels: dict[str, bytes] = {}  # the label image issued for each tracking number, as UPS keeps it
        self.labels_recovered = 0
        self.subscriptions: dict[str, datetime] = {}  # Track Alert: tracking number -> when its 14 days end
        self.latency_s = 0.0  # added to every answer, the token's included
        self.landscape_labels = True  # GIF labels lying on their side, as UPS issues them (False: upright)
        self._serial = itertools.count(1)
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- control ---------------------------------------------------------------------------------------

    def inject(self, operation: str, *faults: Fault) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {OPERATIONS}")
        self.faults[operation].extend(faults)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as when UPS's token lifetime runs out."""
        self.tokens.clear()

    def add_scan(self, tracking_number: str, scan: Scan) -> None:
        for shipment in self.shipments.values():
            if tracking_number in shipment.tracking_numbers:
                shipment.scans.append(scan)
                return
        raise KeyError(tracking_number)

    def pickup_bookings(self, reference: str) -> list[str]:
        """Distinct PRNs booked for a reference (a duplicate request that got the same PRN counts once)."""
        return [p.prn for p in self.pickups.values() if p.reference == reference]

    def shipment_bookings(self, reference: str) -> list[str]:
        return [s.shipment_id for s in self.shipments.values() if s.reference == reference]

    def bookings(self) -> dict[str, Any]:
        pickups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in self.pickups.values():
            pickups[record.reference or ""].append(
                {"prn": record.prn, "date": record.pickup_date.isoformat(), "cancelled": record.cancelled}
            )
        shipments: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for shipment in self.shipments.values():
            shipments[shipment.reference or ""].append(
                {
                    "shipment_id": shipment.shipment_id,
                    "tracking_numbers": shipment.tracking_numbers,
                    "is_return": shipment.is_return,
                    "voided": shipment.voided,
                }
            )
        return {
            "pickups": pickups,
            "shipments": shipments,
            "pickup_requests": dict(self.pickup_creations),
            "shipment_requests": dict(self.shipment_creations),
            "token_requests": self.token_requests,
            "schema_violations": self.schema_violations,
        }

    # -- lifecycle -------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/security/v1/oauth/token", self._token)
        app.router.add_post("/api/pickupcreation/{version}/pickup", self._pickup_create)
        app.router.add_delete("/api/shipments/{version}/pickup/{CancelBy}", self._pickup_cancel)
        app.router.add_get("/api/shipments/{version}/pickup/{pickuptype}", self._pickup_pending)
        app.router.add_post("/api/shipments/{version}/ship", self._ship)
        app.router.add_delete("/api/shipments/{version}/void/cancel/{shipmentidentificationnumber}", self._void)
        app.router.add_post("/api/labels/{version}/recovery", self._label_recovery)
        app.router.add_get("/api/track/v1/details/{inquiryNumber}", self._track)
        app.router.add_get("/api/track/v1/reference/details/{referenceNumber}", self._track_reference)
        app.router.add_post("/api/track/{version}/subscription/{type}/package", self._subscribe)
        app.router.add_get("/__fake/bookings", self._bookings)
        app.router.add_post("/__fake/faults", self._add_fault)
        return app

    async def start(self, port: int = 0) -> None:
        self._release = asyncio.Event()
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._release.set()  # let stalled handlers finish at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeUps:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        assert self.port is not None, "start the fake first"
        return f"http://127.0.0.1:{self.port}"

    # -- checks shared by the handlers -----------------------------------------------------------------

    def _violation(self, operation: str, problems: list[str]) -> web.Response:
        for problem in problems:
            self.schema_violations.append(f"{operation}: {problem}")
        logger.warning("fake UPS refused %s: %s", operation, problems)
        return _ups_error(400, "FAKE-SCHEMA", f"request does not match UPS's schema: {problems[0]}")

    def _check_headers(self, request: web.Request, operation: str, spec: str, path: str, method: str) -> list[str]:
        """Declared header parameters (required ones present, lengths as documented) and the bearer token."""
        problems: list[str] = []
        document = load_spec(spec)
        declared = document["paths"][path][method].get("parameters", [])
        for parameter in declared:
            if "$ref" in parameter:  # Track Alert declares its headers once, under components
                parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
            if parameter.get("in") != "header":
                continue
            name = parameter["name"]
            value = request.headers.get(name)
            if value is None:
                if parameter.get("required"):
                    problems.append(f"header {name} is required")
                continue
            if name == "transId" and not 1 <= len(value) <= 32:
                problems.append("header transId must be 1-32 characters")
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            problems.append("header Authorization: Bearer <token> is required")
        return problems

    def _token_ok(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    async def _json_body(self, request: web.Request) -> tuple[Any, list[str]]:
        if request.content_type != "application/json":
            return None, [f"Content-Type must be application/json, not {request.content_type}"]
        try:
            return await request.json(), []
        except ValueError:
            return None, ["body is not JSON"]

    async def _fault(self, request: web.Request, operation: str) -> Fault | web.StreamResponse | None:
        """Apply the next queued fault. Returns a response to send, the fault to apply later, or None."""
        queue = self.faults.get(operation)
        if not queue:
            return None
        fault = queue.popleft()
        if fault.kind == "rate_limited":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            return _ups_error(429, "10429", "Too Many Requests", headers)
        if fault.kind == "unavailable_html":
            html = (
                "<html><head><title>503 Service Unavailable</title></head>"
                "<body><h1>Service Unavailable</h1></body></html>"
            )
            return web.Response(status=503, text=html, content_type="text/html")
        if fault.kind == "expired_token":
            return _ups_error(401, "250002", "Invalid Authentication Information")
        if fault.kind == "reject":
            return _ups_error(fault.status, fault.code, fault.message)
        if fault.kind == "stall":
            await self._stall()
            return _ups_error(500, "10004", "Something went wrong while processing your request")
        if fault.kind == "reset":
            await self._reset(request)
            return web.Response(status=500)
        if fault.kind in AFTER_APPLY:
            return fault
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    async def _after_apply(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        """The booking is made; the client is not told: a stall past its timeout, a reset, or an HTML 503.
        None: answer as usual (the stall ended, the client has gone)."""
        if fault.kind == "reset_after_apply":
            await self._reset(request)
            return web.Response(status=500)
        if fault.kind == "unavailable_after_apply":
            html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
            return web.Response(status=503, text=html, content_type="text/html")
        await self._stall()
        return None

    async def _stall(self) -> None:
        # Longer than any client timeout in the tests; ends at once when the fake closes.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout=30)

    @staticmethod
    async def _reset(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()  # the client sees the connection drop without an answer
        await asyncio.sleep(0)

    def _answer(self, spec: str, schema: str | dict[str, Any], body: Any, status: int = 200) -> web.Response:
        if not self.legacy_single_objects:
            for problem in self.validators.errors(spec, schema, body):
                self.response_violations.append(f"{spec}/{schema}: {problem}")
        return web.json_response(body, status=status)

    def _shape(self, items: list[Any]) -> Any:
        # Versions before v2403 sent a single object where there was only one item.
        return items[0] if self.legacy_single_objects and len(items) == 1 else items

    async def _prelude(
        self, request: web.Request, operation: str, spec: str, path: str, method: str
    ) -> Fault | web.StreamResponse | None:
        self.calls[operation] += 1
        self.requests.append((request.method, request.path))
        if self.latency_s:
            await asyncio.sleep(self.latency_s)  # a real carrier answers in hundreds of milliseconds
        problems = self._check_headers(request, operation, spec, path, method)
        if problems:
            return self._violation(operation, problems)
        outcome = await self._fault(request, operation)
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if not self._token_ok(request):
            return _ups_error(401, "250002", "Invalid Authentication Information")
        return outcome

    # -- OAuth -----------------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.calls["oauth"] += 1
        self.token_requests += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        problems: list[str] = []
        if request.content_type != "application/x-www-form-urlencoded":
            problems.append(f"Content-Type must be application/x-www-form-urlencoded, not {request.content_type}")
        form = dict(await request.post())
        operation = load_spec("oauth")["paths"]["/security/v1/oauth/token"]["post"]
        form_schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        problems += self.validators.errors("oauth", form_schema, form)
        if form.get("grant_type") != "client_credentials":
            problems.append("grant_type must be client_credentials")
        if problems:
            return self._violation("oauth", problems)
        outcome = await self._fault(request, "oauth")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not secrets.compare_digest(request.headers.get("Authorization", ""), expected):
            return self._answer(
                "oauth",
                "tokenErrorResponse",
                {"response": {"errors": [{"code": "250002", "message": "Invalid Authentication Information"}]}},
                status=401,
            )
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        now = self.clock()
        body = {
            "token_type": "Bearer",
            "issued_at": str(int(now.timestamp() * 1000)),
            "client_id": self.client_id,
            "access_token": token,
            "scope": "",
            "expires_in": str(self.token_lifetime_s),
            "refresh_count": "0",
            "status": "approved",
        }
        return self._answer("oauth", "tokenSuccessResponse", body)

    # -- Pickup ----------------------------------------------------------------------------------------

    def _next_prn(self) -> str:
        return f"2{next(self._serial):08d}CP"

    async def _pickup_create(self, request: web.Request) -> web.StreamResponse:
        operation = "schedule_pickup"
        outcome = await self._prelude(request, operation, "pickup", "/pickupcreation/{version}/pickup", "post")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        body, problems = await self._json_body(request)
        if not problems:
            problems = self.validators.errors("pickup", "PICKUPCreationRequestWrapper", body)
        if problems:
            return self._violation(operation, problems)
        self.last_bodies[operation] = body
        data = body["PickupCreationRequest"]
        info = data["PickupDateInfo"]
        try:
            pickup_date = datetime.strptime(info["PickupDate"], "%Y%m%d").date()
        except ValueError:
            return self._violation(operation, ["PickupDateInfo/PickupDate is not yyyyMMdd"])
        if not (info["ReadyTime"].isdigit() and info["CloseTime"].isdigit() and info["ReadyTime"] < info["CloseTime"]):
            return _ups_error(400, "9510034", "Invalid pickup ready time or close time")
        address = data["PickupAddress"]
        address_key = (
            address["AddressLine"][0].upper(),
            address["City"].upper(),
            address.get("PostalCode", "").upper(),
            address["CountryCode"],
        )
        reference = data.get("ReferenceNumber")
        self.pickup_creations[reference or ""] += 1
        # "Same PRN will be returned if a pickup request already exists for a pickup address/point."
        existing = next(
            (
                p
                for p in self.pickups.values()
                if p.address_key == address_key and p.pickup_date == pickup_date and not p.cancelled
            ),
            None,
        )
        if existing is None:
            existing = PickupRecord(self._next_prn(), reference, address_key, pickup_date, address["ContactName"])
            self.pickups[existing.prn] = existing
        answer = {
            "PickupCreationResponse": {
                "Response": {
                    "ResponseStatus": {"Code": "1", "Description": "Success"},
                    **self._context(data),
                },
                "PRN": existing.prn,
                "RateStatus": {"Code": "02", "Description": "Rate not available"},
            }
        }
        if isinstance(outcome, Fault):  # the booking is applied, the client does not learn it
            failed = await self._after_apply(request, outcome)
            if failed is not None:
                return failed
        return self._answer("pickup", "PICKUPCreationResponseWrapper", answer)

    @staticmethod
    def _context(data: Mapping[str, Any]) -> dict[str, Any]:
        context = data.get("Request", {}).get("TransactionReference", {}).get("CustomerContext")
        return {"TransactionReference": {"CustomerContext": context}} if context else {}

    async def _pickup_cancel(self, request: web.Request) -> web.StreamResponse:
        operation = "cancel_pickup"
        outcome = await self._prelude(request, operation, "pickup", "/shipments/{version}/pickup/{CancelBy}", "delete")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if request.match_info["CancelBy"] != "02":
            return self._violation(operation, ["this fake cancels by PRN only (CancelBy 02)"])
        prn = request.headers.get("Prn")
        if not prn:
            return self._violation(operation, ["header Prn is required with CancelBy 02"])
        record = self.pickups.get(prn)
        if record is None:
            return _ups_error(400, "9510113", "No pickup found for this PRN")
        if record.cancelled:
            return _ups_error(400, "9510131", "The pickup has already been cancelled")
        record.cancelled = True
        answer = {
            "PickupCancelResponse": {
                "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                "PickupType": "01",
            }
        }
        return self._answer("pickup", "PICKUPCancelResponseWrapper", answer)

    async def _pickup_pending(self, request: web.Request) -> web.StreamResponse:
        operation = "find_pickup"
        outcome = await self._prelude(request, operation, "pickup", "/shipments/{version}/pickup/{pickuptype}", "get")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if request.match_info["pickuptype"] not in {"oncall", "smart", "both"}:
            return self._violation(operation, ["pickuptype must be oncall, smart or both"])
        account = request.headers.get("AccountNumber", "")
        if not 6 <= len(account) <= 10:
            return self._violation(operation, ["header AccountNumber must be 6 or 10 characters"])
        today = self.clock().date()
        # Pending Status "will only display incomplete status for today and tomorrow only".
        pending = [
            {
                "PickupType": "01",
                "ServiceDate": record.pickup_date.strftime("%Y%m%d"),
                "PRN": record.prn,
                "PickupStatusMessage": "002",
                "BillingCode": "01",
                "ContactName": record.contact,
                **({"ReferenceNumber": record.reference} if record.reference else {}),
            }
            for record in self.pickups.values()
            if not record.cancelled and today <= record.pickup_date <= today + timedelta(days=1)
        ]
        answer = {
            "PickupPendingStatusResponse": {
                "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                "PendingStatus": self._shape(pending),
            }
        }
        return self._answer("pickup", "PICKUPPendingResponseWrapper", answer)

    # -- Shipping --------------------------------------------------------------------------------------

    def _next_1z(self, shipper_number: str, service: str) -> str:
        body = f"{shipper_number}{service[-2:].zfill(2)}{next(self._serial) % 10_000_000:07d}".upper()
        return "1Z" + body + ups_check_digit(body)

    async def _ship(self, request: web.Request) -> web.StreamResponse:
        operation = "create_shipment"
        outcome = await self._prelude(request, operation, "shipping", "/shipments/{version}/ship", "post")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        body, problems = await self._json_body(request)
        if not problems:
            problems = self.validators.errors("shipping", "SHIPRequestWrapper", body)
        if problems:
            return self._violation(operation, problems)
        self.last_bodies[operation] = body
        data = body["ShipmentRequest"]
        shipment = data["Shipment"]
        is_return = "ReturnService" in shipment
        rules: list[str] = []
        if is_return and "ShipFrom" not in shipment:
            rules.append("ShipFrom is required for a return shipment")
        if is_return and any("Description" not in p for p in shipment["Package"]):
            rules.append("Package/Description is required with a return service")
        label_format = data.get("LabelSpecification", {}).get("LabelImageFormat", {}).get("Code", "GIF")
        if label_format not in {"GIF", "ZPL", "EPL", "SPL"}:
            rules.append(f"LabelImageFormat {label_format} is not offered by the Ship API")
        if label_format == "GIF" and "HTTPUserAgent" not in data.get("LabelSpecification", {}):
            rules.append("HTTPUserAgent is required for GIF labels")
        if rules:
            return _ups_error(400, "120100", rules[0])
        shipper_number = shipment["Shipper"]["ShipperNumber"]
        references = [r["Value"] for r in shipment.get("ReferenceNumber", [])] + [
            r["Value"] for p in shipment["Package"] for r in p.get("ReferenceNumber", [])
        ]
        reference = references[0] if references else None
        self.shipment_creations[reference or ""] += 1
        numbers = [self._next_1z(shipper_number, shipment["Service"]["Code"]) for _ in shipment["Package"]]
        origin = shipment.get("ShipFrom", shipment["Shipper"])["Address"]
        record = ShipmentRecord(numbers[0], numbers, reference, is_return, shipper_number)
        record.scans.append(
            Scan(
                self.clock(),
                "M",
                "MP",
                "Shipper created a label, UPS has not received the package yet.",
                origin["City"],
                origin["CountryCode"],
            )
        )
        self.shipments[record.shipment_id] = record
        ship_to = shipment["ShipTo"]
        to_address = ship_to["Address"]
        ship_to_lines = (
            str(ship_to.get("AttentionName") or ship_to["Name"]),
            *[str(line) for line in to_address.get("AddressLine", [])],
            f"{to_address.get('PostalCode', '')} {to_address['City']} {to_address['CountryCode']}",
        )
        packages = []
        for number in numbers:
            # A new label per package, drawn as UPS draws it: a 4x6 GIF at 203 dpi, or printer code.
            image = (
                ups_label(number, "GIF", ship_to=ship_to_lines, landscape=self.landscape_labels)
                if label_format == "GIF"
                else ups_zpl(number)
            )
            self.labels[number] = image
            label_image = base64.b64encode(image).decode()
            html = base64.b64encode(f'<html><body><img src="label{number}.gif"></body></html>'.encode()).decode()
            packages.append(
                {
                    "TrackingNumber": number,
                    "ShippingLabel": {
                        "ImageFormat": {"Code": label_format, "Description": label_format},
                        "GraphicImage": label_image,
                        **({"HTMLImage": html} if label_format == "GIF" else {}),
                    },
                }
            )
        answer = {
            "ShipmentResponse": {
                "Response": {
                    "ResponseStatus": {"Code": "1", "Description": "Success"},
                    **self._context(data),
                },
                "ShipmentResults": {
                    "BillingWeight": {
                        "UnitOfMeasurement": {"Code": "KGS", "Description": "Kilograms"},
                        "Weight": "000002.0",
                    },
                    "ShipmentIdentificationNumber": record.shipment_id,
                    "PackageResults": self._shape(packages),
                },
            }
        }
        if isinstance(outcome, Fault):  # the booking is applied, the client does not learn it
            failed = await self._after_apply(request, outcome)
            if failed is not None:
                return failed
        return self._answer("shipping", "SHIPResponseWrapper", answer)

    async def _label_recovery(self, request: web.Request) -> web.StreamResponse:
        operation = "recover_label"
        outcome = await self._prelude(request, operation, "shipping", "/labels/{version}/recovery", "post")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        body, problems = await self._json_body(request)
        if not problems:
            problems = self.validators.errors("shipping", "LABELRECOVERYRequestWrapper", body)
        if problems:
            return self._violation(operation, problems)
        self.last_bodies[operation] = body
        data = body["LabelRecoveryRequest"]
        number = data.get("TrackingNumber")
        image_format = data.get("LabelSpecification", {}).get("LabelImageFormat", {}).get("Code", "GIF")
        if image_format != "GIF":
            return _ups_error(400, "120100", f"this fake recovers GIF labels only, not {image_format}")
        record = next((r for r in self.shipments.values() if number in r.tracking_numbers), None)
        if number is None or record is None or number not in self.labels or record.voided:
            return _ups_error(400, "120801", "No label was found for the tracking number")
        self.labels_recovered += 1
        answer = {
            "LabelRecoveryResponse": {
                "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}, **self._context(data)},
                "ShipmentIdentificationNumber": record.shipment_id,
                "LabelResults": self._shape(
                    [
                        {
                            "TrackingNumber": number,
                            "LabelImage": {
                                "LabelImageFormat": {"Code": "GIF", "Description": "GIF"},
                                "GraphicImage": base64.b64encode(self.labels[number]).decode(),
                            },
                        }
                    ]
                ),
            }
        }
        return self._answer("shipping", "LABELRECOVERYResponseWrapper", answer)

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        """Track Alert v2 package subscription: numbers this fake issued are subscribed for 14 days, others
        are listed as invalid (as UPS lists numbers it cannot subscribe)."""
        operation = "subscribe"
        outcome = await self._prelude(request, operation, "track_alert", "/subscription/{type}/package", "post")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        problems: list[str] = []
        if request.match_info["version"] != "v2":
            problems.append(f"version must be v2, not {request.match_info['version']}")
        if request.match_info["type"] not in ("standard", "enhanced"):
            problems.append(f"type must be standard or enhanced, not {request.match_info['type']}")
        body, invalid_body = await self._json_body(request)
        problems += invalid_body or self.validators.errors("track_alert", "PackageSubscriptionRequest", body)
        if problems:
            return self._violation(operation, problems)
        self.last_bodies[operation] = body
        issued = {number for record in self.shipments.values() for number in record.tracking_numbers}
        valid = [number for number in body["trackingNumberList"] if number in issued]
        invalid = [number for number in body["trackingNumberList"] if number not in issued]
        for number in valid:
            self.subscriptions[number] = self.clock() + timedelta(days=14)
        answer: dict[str, Any] = {"validTrackingNumbers": valid}
        if invalid:
            answer["invalidTrackingNumbers"] = invalid
        return self._answer("track_alert", "PackageSubscriptionSuccessResponse", answer)

    async def _void(self, request: web.Request) -> web.StreamResponse:
        operation = "void_shipment"
        path = "/shipments/{version}/void/cancel/{shipmentidentificationnumber}"
        outcome = await self._prelude(request, operation, "shipping", path, "delete")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        shipment_id = request.match_info["shipmentidentificationnumber"]
        if not is_valid_1z(shipment_id):
            return _ups_error(400, "190101", "Invalid shipment identification number")
        record = self.shipments.get(shipment_id)
        if record is None:
            return _ups_error(400, "190102", "No shipment found within the allowed void period")
        if not record.voided:
            record.voided = True
            record.scans.append(Scan(self.clock(), "MV", "MV", "Shipment voided"))
        # Package level status "1 = Voided or Already Voided": voiding twice succeeds.
        answer = {
            "VoidShipmentResponse": {
                "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}},
                "PackageLevelResults": self._shape(
                    [
                        {"TrackingNumber": n, "Status": {"Code": "1", "Description": "Voided"}}
                        for n in record.tracking_numbers
                    ]
                ),
            }
        }
        return self._answer("shipping", "VOIDSHIPMENTResponseWrapper", answer)

    # -- Tracking --------------------------------------------------------------------------------------

    def _activity(self, scan: Scan) -> dict[str, Any]:
        gmt = scan.at.astimezone(UTC)
        return {
            "location": {"address": {"city": scan.city, "countryCode": scan.country, "country": scan.country}},
            "status": {
                "type": scan.type,
                "code": scan.code,
                "description": scan.description,
                "statusCode": "003",
            },
            "date": gmt.strftime("%Y%m%d"),
            "time": gmt.strftime("%H%M%S"),
            "gmtDate": gmt.strftime("%Y%m%d"),
            # UPS drops the leading zero of early hours.
            "gmtTime": str(int(gmt.strftime("%H%M%S"))).zfill(5) if gmt.hour < 10 else gmt.strftime("%H%M%S"),
            "gmtOffset": "+00:00",
        }

    def _package(self, record: ShipmentRecord, number: str) -> dict[str, Any]:
        # UPS lists the newest first; of two scans at the same instant, the one recorded later is newer.
        scans = [scan for _, scan in sorted(enumerate(record.scans), key=lambda p: (p[1].at, p[0]), reverse=True)]
        delivered = [s for s in scans if s.type == "D" and "delivered" in s.description.lower()]
        latest = scans[0]
        package: dict[str, Any] = {
            "trackingNumber": number,
            "activity": self._shape([self._activity(scan) for scan in scans]),
            "currentStatus": {"type": latest.type, "code": latest.code, "description": latest.description},
            "referenceNumber": self._shape(
                [{"type": "SHIPMENT", "number": record.reference}] if record.reference else []
            ),
            "packageCount": len(record.tracking_numbers),
        }
        if delivered:
            package["deliveryDate"] = self._shape([{"type": "DEL", "date": delivered[0].at.strftime("%Y%m%d")}])
        return package

    def _not_found(self, inquiry: str) -> web.Response:
        if self.not_found == "warning":
            body = {
                "trackResponse": {
                    "shipment": [
                        {
                            "inquiryNumber": inquiry,
                            "package": [],
                            "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}],
                        }
                    ]
                }
            }
            return self._answer("tracking", "TrackApiResponse", body)
        return self._answer(
            "tracking",
            "Response",
            {"response": {"errors": [{"code": "TW0001", "message": "Tracking Information Not Found"}]}},
            status=404,
        )

    async def _track(self, request: web.Request) -> web.StreamResponse:
        operation = "track"
        outcome = await self._prelude(request, operation, "tracking", "/track/v1/details/{inquiryNumber}", "get")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        number = request.match_info["inquiryNumber"]
        if not 7 <= len(number) <= 34:
            return _ups_error(400, "TV1002", "Invalid inquiry number")
        record = next((s for s in self.shipments.values() if number in s.tracking_numbers), None)
        if record is None:
            return self._not_found(number)
        body = {
            "trackResponse": {
                "shipment": self._shape(
                    [{"inquiryNumber": number, "package": self._shape([self._package(record, number)])}]
                )
            }
        }
        return self._answer("tracking", "TrackApiResponse", body)

    async def _track_reference(self, request: web.Request) -> web.StreamResponse:
        operation = "find_shipment"
        path = "/track/v1/reference/details/{referenceNumber}"
        outcome = await self._prelude(request, operation, "tracking", path, "get")
        if isinstance(outcome, web.StreamResponse):
            return outcome
        reference = request.match_info["referenceNumber"]
        shipper = request.query.get("shipperNum")
        matches = [
            s
            for s in self.shipments.values()
            if s.reference == reference and (shipper is None or s.shipper_number == shipper)
        ]
        if not matches:
            return self._not_found(reference)
        packages = [self._package(record, number) for record in matches for number in record.tracking_numbers]
        body = {
            "trackResponse": {"shipment": self._shape([{"inquiryNumber": reference, "package": self._shape(packages)}])}
        }
        return self._answer("tracking", "TrackApiResponse", body)

    # -- fake-only endpoints ---------------------------------------------------------------------------

    async def _bookings(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.bookings())

    async def _add_fault(self, request: web.Request) -> web.StreamResponse:
        data = await request.json()
        try:
            self.inject(data["operation"], Fault.from_json(data))
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": len(self.faults[data["operation"]])})

    # -- Track Alert pushes ----------------------------------------------------------------------------

    def track_alert(
        self, tracking_number: str, scan: Scan, *, credential: str, delivered: bool = False
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of the POST UPS Track Alert would send for a scan, validated against the spec."""
        gmt = scan.at.astimezone(UTC)
        body: dict[str, Any] = {
            "trackingNumber": tracking_number,
            "localActivityDate": gmt.strftime("%Y%m%d"),
            "localActivityTime": gmt.strftime("%H%M%S"),
            "activityLocation": {"city": scan.city or "PARIS", "country": scan.country or "FR"},
            "activityStatus": {"type": scan.type, "code": scan.code, "description": scan.description},
            "gmtActivityDate": gmt.strftime("%Y%m%d"),
            "gmtActivityTime": gmt.strftime("%H%M%S"),
            "gmtOffset": "+00.00",
        }
        if delivered:
            body["actualDeliveryDate"] = gmt.strftime("%Y%m%d")
            body["actualDeliveryTime"] = gmt.strftime("%H%M%S")
        problems = self.validators.errors("track_alert", "TrackingEventRequest", body)
        if problems:
            raise AssertionError(f"fake Track Alert body does not match UPS's schema: {problems}")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "UPSPubSubTrackingService",
            "x-api-key": self.client_id,
            "credential": credential,
        }
        return headers, json.dumps(body).encode()


async def _serve(
    port: int, latency_s: float = 0.0, account_number: str = "A1B2C3", *, landscape_labels: bool = True
) -> None:
    fake = FakeUps(account_number=account_number)
    fake.latency_s = latency_s
    fake.landscape_labels = landscape_labels
    await fake.start(port)
    print(json.dumps({"base_url": fake.base_url, "client_id": fake.client_id}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake UPS server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--account-number", default="A1B2C3", help="the shipper number the fake expects")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    parser.add_argument(
        "--upright-labels", action="store_true", help="GIF labels upright (UPS issues them lying on their side)"
    )
    args = parser.parse_args(argv)
    if not specs_available():
        raise SystemExit(f"UPS specs not found in {SPEC_DIR}")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _serve(args.port, args.latency_ms / 1000, args.account_number, landscape_labels=not args.upright_labels)
        )


if __name__ == "__main__":
    main()
