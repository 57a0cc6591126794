"""A fake Colissimo: the SLS label web service and La Poste's Suivi v2 tracking API, on 127.0.0.1.

SLS requests are validated against Colissimo's own OpenAPI description (``shared/carrier-specs`` beside the
repository), with the errata the research lists: the description's server is La Poste-internal (the fake
serves SLS under the public path ``/sls-ws/SlsServiceWSRest/2.0``), and ``depositDate`` /
``mailBoxPickingDate`` are checked as the plain dates their descriptions give ("2022-06-25"), not as the
``date-time`` the schema declares. The fake is stricter than the document in one way: a property the
schema does not declare is refused, so a misspelt field fails the test instead of being ignored. A request
that breaks the description gets SLS's error envelope and is recorded in ``violations``.

Answers are SLS's: ``multipart/mixed`` with a ``<jsonInfos>`` JSON part and a ``<label>`` part holding a
10×15 cm PDF (283.46×425.20 pt) whose Code 128 reads the parcel number (ZPL where ``ZPL_*`` is asked).
Parcel numbers follow the product: ``8R`` (CORE), ``7R`` (CORI) and ``6A`` (DOS) plus eleven digits, and
UPU S10 ``CQ…FR`` numbers for CORF. SLS rules enforced: weight 0.01–30 kg with two decimals at most, the
addressee's company on return products, ``orderNumber`` of 30 characters at most, a deposit date not in the
past, the letterbox pickup only for an announced CORE/CORF parcel on an offered date (business days after
today, up to ten days ahead, the day after tomorrow once the cut-off hour has passed in Paris).

Suivi v2 (``/suivi/v2/idships/{ids}``): the ``X-Okapi-Key`` header, ``Accept: application/json``, 1 to 10
ids of 11 to 15 alphanumerics; one id is answered with an object (404 ``returnCode`` 104 when not yet
known), several with a 207 list of unit answers; scripted events are listed newest first.

Faults are queued per operation (``generate_label``, ``plan_pickup``, ``track``): 429 (La Poste's
``TOO_MANY_REQUESTS``, with or without Retry-After), a 503 HTML page, SLS's 500 technical error, a stall past
the client's timeout, a connection reset, a stall after the label is created, and a refusal.

Run alone with ``python -m tests.fakes.colissimo_server --port 8086``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import copy
import functools
import io
import itertools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jsonschema
from aiohttp import web
from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas

SPEC_FILE = "colissimo_sls_openapi_original.json"
SLS_ROOT = "/sls-ws/SlsServiceWSRest/2.0"
SUIVI_ROOT = "/suivi/v2"
OPERATIONS = ("generate_label", "plan_pickup", "mailbox_dates", "track")
Operation = Literal["generate_label", "plan_pickup", "mailbox_dates", "track"]
PARIS = ZoneInfo("Europe/Paris")
#: Label size of the 10x15 formats: 100 × 150 mm in points.
LABEL_10X15 = (283.46, 425.20)
PRINTING_TYPES = frozenset(
    {
        "ZPL_10x15_203dpi",
        "ZPL_10x15_300dpi",
        "DPL_10x15_203dpi",
        "DPL_10x15_300dpi",
        "PDF_10x15_300dpi",
        "PDF_A4_300dpi",
        "ZPL_10x10_203dpi",
        "ZPL_10x10_300dpi",
        "DPL_10x10_203dpi",
        "DPL_10x10_300dpi",
        "PDF_10x10_300dpi",
        "PDF_10x12_300dpi",
    }
)
#: Product code → parcel number prefix (two characters; ``CQ`` numbers are S10).
PRODUCTS = {"CORE": "8R", "CORI": "7R", "CORF": "CQ", "DOM": "6A", "DOS": "6A"}
RETURN_PRODUCTS = frozenset({"CORE", "CORI", "CORF"})
LETTERBOX_PRODUCTS = frozenset({"CORE", "CORF"})
_PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_IDSHIP = re.compile(r"^[A-Za-z0-9]{11,15}$")


def spec_path() -> Path:
    """Colissimo's SLS description in ``shared/carrier-specs`` next to the repository."""
    repository = Path(__file__).resolve().parents[2]
    return repository.parent / "shared" / "carrier-specs" / SPEC_FILE


# --------------------------------------------------------------------------------------------------------
# The description


def _closed(node: Any) -> Any:
    """Every object schema with declared properties refuses undeclared ones (a misspelt field fails)."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items() if k not in ("description", "example")}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


class SlsSpec:
    """Colissimo's OpenAPI 3.0 document with a validator per request body."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not str(document.get("openapi", "")).startswith("3.0"):
            raise ValueError("expected an OpenAPI 3.0 document")
        self.document = copy.deepcopy(dict(document))
        self._components = _closed(self.document["components"])
        self._validators: dict[str, jsonschema.Draft4Validator] = {}

    def operation(self, path: str) -> dict[str, Any]:
        return dict(self.document["paths"][path]["post"])

    def _validator(self, path: str) -> jsonschema.Draft4Validator:
        found = self._validators.get(path)
        if found is None:
            schema = self.operation(path)["requestBody"]["content"]["application/json"]["schema"]
            found = jsonschema.Draft4Validator({**schema, "components": self._components})
            self._validators[path] = found
        return found

    def body_errors(self, path: str, body: Any) -> list[str]:
        errors = sorted(self._validator(path).iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"#/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]

    def declares_api_key_header(self, path: str) -> bool:
        return any(p.get("name") == "apiKey" and p.get("in") == "header" for p in self.operation(path)["parameters"])


@functools.cache
def load_spec(path: Path | None = None) -> SlsSpec:
    with (path or spec_path()).open("rb") as handle:
        return SlsSpec(json.load(handle))


# --------------------------------------------------------------------------------------------------------
# Wire formats


def s10_number(prefix: str, serial: int, country: str = "FR") -> str:
    digits = f"{serial:08d}"[-8:]
    value = 11 - sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    check = {10: 0, 11: 5}.get(value, value)
    return f"{prefix}{digits}{check}{country}"


def domestic_number(prefix: str, serial: int) -> str:
    """A domestic Colissimo number: the product's two characters, ten serial digits and a check digit (the
    fake's own Luhn digit; the adapter checks the format only)."""
    digits = f"{serial:010d}"[-10:]
    doubled = ((int(d) * 2 if i % 2 == 0 else int(d)) for i, d in enumerate(reversed(digits)))
    luhn = sum(v - 9 if v > 9 else v for v in doubled)
    return f"{prefix}{digits}{(10 - luhn % 10) % 10}"


def label_pdf(number: str, lines: list[str], size: tuple[float, float] = LABEL_10X15) -> bytes:
    """The label SLS would render: one 10×15 cm page with the parcel number as Code 128 and in words."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size, invariant=1)
    width, height = size
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(14, height - 30, "Colissimo")
    canvas.setFont("Helvetica", 8)
    for index, line in enumerate(lines):
        canvas.drawString(14, height - 52 - 11 * index, line[:60])
    symbol = Code128(number, barWidth=1.4, barHeight=70, humanReadable=True, quiet=True)
    x = max((width - symbol.width) / 2, 4)
    symbol.drawOn(canvas, x, 70)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def label_zpl(number: str, lines: list[str]) -> bytes:
    text = "".join(f"^FO40,{60 + 30 * i}^A0N,24,24^FD{line[:50]}^FS" for i, line in enumerate(lines))
    return f"^XA^CI28^FO40,20^A0N,36,36^FDColissimo^FS{text}^FO60,700^BY3^BCN,200,Y,N,N^FD{number}^FS^XZ".encode()


def envelope(messages: list[dict[str, Any]], response: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"messages": messages, "labelXmlV2Reponse": None, "labelV2Response": response}


def message(id_: str, content: str, type_: str = "ERROR") -> dict[str, Any]:
    return {"id": id_, "type": type_, "messageContent": content, "replacementValues": []}


OK = message("0", "La requête a été traitée avec succès", "INFOS")


def multipart(infos: Mapping[str, Any], attachments: Mapping[str, bytes]) -> tuple[bytes, str]:
    """SLS's ``multipart/mixed`` body and its content type: ``jsonInfos`` first, then the byte arrays."""
    boundary = f"uuid:{uuid.uuid4()}"
    out = bytearray()
    parts = [("jsonInfos", "application/json;charset=UTF-8", "8bit", json.dumps(infos).encode())]
    parts += [(name, "application/octet-stream", "binary", data) for name, data in attachments.items()]
    for name, content_type, encoding, data in parts:
        out += f"--{boundary}\r\n".encode()
        out += f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n".encode()
        out += f"Content-ID: <{name}>\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    content_type = f'multipart/mixed; boundary="{boundary}"; start="<jsonInfos>"; type="application/json"'
    return bytes(out), content_type


# --------------------------------------------------------------------------------------------------------
# State


@dataclass
class Label:
    number: str
    product: str
    order_number: str | None
    body: dict[str, Any]
    created_at: datetime
    printing_type: str


@dataclass
class Pickup:
    number: str
    day: date
    sender: dict[str, Any]
    confirmations: int = 1


@dataclass(frozen=True)
class Scan:
    code: str
    at: datetime
    label: str


@dataclass(frozen=True)
class Fault:
    """One injected failure, consumed by the next request of its operation."""

    kind: Literal["rate_limit", "html_503", "technical_500", "stall", "reset", "stall_after_apply", "refuse"]
    retry_after: str | None = None
    detail: str = ""
    id: str = "30100"

    @classmethod
    def rate_limited(cls, retry_after: str | None = None) -> Fault:
        return cls("rate_limit", retry_after=retry_after)

    @classmethod
    def unavailable_html(cls) -> Fault:
        return cls("html_503")

    @classmethod
    def technical_error(cls) -> Fault:
        return cls("technical_500")

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
    def refused(cls, id_: str = "30000", detail: str = "Identifiant ou mot de passe incorrect") -> Fault:
        return cls("refuse", id=id_, detail=detail)


class _Reset(Exception):
    """Raised in a handler to drop the connection without an answer."""


@dataclass
class _Seen:
    operation: str
    headers: dict[str, str]
    path: str
    query: str
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class FakeColissimoServer:
    """SLS and Suivi v2 on one loopback port. ``start()`` returns the root URL; ``stop()`` releases it."""

    def __init__(
        self,
        spec: SlsSpec,
        *,
        api_key: str = "fake-sls-key",
        okapi_key: str = "fake-okapi-key",
        clock: Callable[[], datetime] | None = None,
        first_serial: int = 1598404030,
        cut_off: time = time(20, 0),
    ) -> None:
        self.spec = spec
        self.api_key = api_key
        self.okapi_key = okapi_key
        self.cut_off = cut_off
        self._clock = clock or (lambda: datetime.now(UTC))
        self._serials = itertools.count(first_serial)
        self.labels: dict[str, Label] = {}
        self.by_order: dict[str, list[Label]] = collections.defaultdict(list)
        self.pickups: dict[str, Pickup] = {}
        self.scans: dict[str, list[Scan]] = collections.defaultdict(list)
        self.faults: dict[str, collections.deque[Fault]] = {op: collections.deque() for op in OPERATIONS}
        self.calls: collections.Counter[str] = collections.Counter()
        self.requests: list[_Seen] = []
        self.violations: list[str] = []
        self.rejections: list[str] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def sls_url(self) -> str:
        return self.url + SLS_ROOT

    @property
    def suivi_url(self) -> str:
        return self.url + SUIVI_ROOT

    # -- test controls --------------------------------------------------------------------------------

    def inject(self, operation: Operation, *faults: Fault) -> None:
        if operation not in self.faults:
            raise ValueError(f"unknown operation {operation!r}")
        self.faults[operation].extend(faults)

    def announce(self, product: str = "CORE", order_number: str | None = None) -> str:
        """A parcel announced as if by an earlier ``generateLabel`` (for tests that start after the label)."""
        serial = next(self._serials)
        prefix = PRODUCTS[product]
        number = s10_number(prefix, serial) if product == "CORF" else domestic_number(prefix, serial)
        label = Label(number, product, order_number, {}, self._clock(), "PDF_10x15_300dpi")
        self.labels[number] = label
        if order_number:
            self.by_order[order_number].append(label)
        return number

    def label_count(self, order_number: str) -> int:
        return len(self.by_order.get(order_number, []))

    def scan(self, number: str, code: str, at: datetime, label: str = "") -> None:
        """Record a tracking event on a parcel number (known or not: Suivi tracks every La Poste item)."""
        if at.tzinfo is None:
            raise ValueError("event time must be aware")
        self.scans[number].append(Scan(code, at, label or f"Événement {code}"))

    def mailbox_dates(self) -> list[date]:
        """The letterbox collection dates offered now: business days after today (Paris), for ten days; once
        the cut-off has passed, not tomorrow."""
        local = self._clock().astimezone(PARIS)
        first = local.date() + timedelta(days=2 if local.time() >= self.cut_off else 1)
        days = [first + timedelta(days=n) for n in range(10)]
        return [d for d in days if d.weekday() < 5]

    # -- lifecycle ------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post(f"{SLS_ROOT}/generateLabel", self._generate_label)
        app.router.add_post(f"{SLS_ROOT}/planPickup", self._plan_pickup)
        app.router.add_post(f"{SLS_ROOT}/getListMailBoxPickingDates", self._mailbox_dates)
        app.router.add_get(SUIVI_ROOT + "/idships/{idship}", self._track)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._release = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        address = self._runner.addresses[0]
        self.url = f"http://{address[0]}:{address[1]}"
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- plumbing -------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except _Reset:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        return response

    @staticmethod
    def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status, text=json.dumps(body), content_type="application/json", headers=dict(headers or {})
        )

    def _error(self, status: int, id_: str, content: str) -> web.Response:
        self.rejections.append(f"{id_}: {content}")
        return self._json(status, envelope([message(id_, content)]))

    async def _fault_before(self, fault: Fault, *, suivi: bool = False) -> web.Response | None:
        if fault.kind == "rate_limit":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            quota = {"code": "TOO_MANY_REQUESTS", "message": "max quota reached (100 calls per 1s)"}
            return self._json(429, quota, headers)
        if fault.kind == "html_503":
            return web.Response(
                status=503,
                text="<html><head><title>503 Service Unavailable</title></head>"
                "<body><h1>Service Unavailable</h1></body></html>",
                content_type="text/html",
            )
        if fault.kind == "technical_500":
            if suivi:
                return self._json(500, {"returnCode": 504, "returnMessage": "Service indisponible"})
            return self._json(500, envelope([message("20000", "Erreur technique, veuillez réessayer")]))
        if fault.kind == "stall":
            await self._release.wait()
            raise _Reset
        if fault.kind == "reset":
            raise _Reset
        if fault.kind == "refuse":
            if fault.id == "30000":
                refusal, content_type = multipart(envelope([message(fault.id, fault.detail)]), {})
                return web.Response(status=400, body=refusal, headers={"Content-Type": content_type})
            return self._error(400, fault.id, fault.detail)
        return None  # stall_after_apply acts after the label is created

    async def _enter_sls(
        self, request: web.Request, operation: Operation, path: str
    ) -> tuple[Any, Fault | None, web.Response | None]:
        """Count, record and validate an SLS request; returns (body, fault to apply, early answer)."""
        self.calls[operation] += 1
        raw = await request.read()
        seen = _Seen(operation, dict(request.headers), request.path, request.query_string)
        self.requests.append(seen)
        if request.headers.get("apiKey") != self.api_key:
            self.violations.append(f"{operation}: missing or wrong apiKey header")
            body, content_type = multipart(envelope([message("30000", "Identifiant ou mot de passe incorrect")]), {})
            return None, None, web.Response(status=400, body=body, headers={"Content-Type": content_type})
        if request.content_type != "application/json":
            self.violations.append(f"{operation}: content type {request.content_type} is not application/json")
            return None, None, self._error(422, "30001", "Le format JSON de la requête est invalide")
        try:
            body = json.loads(raw, parse_float=Decimal)
        except ValueError:
            self.violations.append(f"{operation}: body is not JSON")
            return None, None, self._error(422, "30001", "Le format JSON de la requête est invalide")
        seen.body = body
        errors = self.spec.body_errors(path, body)
        if isinstance(body, dict) and ("contractNumber" in body or "password" in body):
            errors.append("#/: contractNumber/password are deprecated and must not be sent with an apiKey")
        if errors:
            self.violations.extend(f"{operation}: {e}" for e in errors)
            return body, None, self._error(400, "30002", f"Requête invalide : {errors[0]}")
        fault = self.faults[operation].popleft() if self.faults[operation] else None
        if fault is not None:
            early = await self._fault_before(fault)
            if early is not None:
                return body, None, early
        return body, fault, None

    def _plain_date(self, operation: str, value: Any, name: str) -> date | None:
        # Erratum: the schema says date-time, SLS's description and examples say "2022-06-25".
        if not isinstance(value, str) or not _PLAIN_DATE.match(value):
            self.violations.append(f"{operation}: {name} {value!r} is not a date like 2022-06-25")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.violations.append(f"{operation}: {name} {value!r} is not a calendar date")
            return None

    # -- generateLabel --------------------------------------------------------------------------------

    async def _generate_label(self, request: web.Request) -> web.StreamResponse:
        body, fault, early = await self._enter_sls(request, "generate_label", "/generateLabel")
        if early is not None:
            return early
        letter = body["letter"]
        service, parcel = letter["service"], letter["parcel"]
        product = str(service["productCode"])
        printing = str(body["outputFormat"]["outputPrintingType"])
        if printing not in PRINTING_TYPES:
            self.violations.append(f"generate_label: outputPrintingType {printing!r} is unknown")
            return self._error(400, "30221", "Le format d'impression n'est pas valide")
        if product not in PRODUCTS:
            return self._error(400, "30101", f"Le code produit {product} n'est pas valide")
        deposit = self._plain_date("generate_label", service["depositDate"], "depositDate")
        if deposit is None:
            return self._error(400, "30102", "La date de dépôt n'est pas valide")
        if deposit < self._clock().astimezone(PARIS).date():
            return self._error(400, "30103", "La date de dépôt ne peut pas être dans le passé")
        order = service.get("orderNumber")
        if order is not None and not 1 <= len(str(order)) <= 30:
            self.violations.append("generate_label: orderNumber longer than 30 characters")
            return self._error(400, "30104", "Le numéro de commande ne doit pas dépasser 30 caractères")
        weight = Decimal(str(parcel["weight"]))
        if weight < Decimal("0.01") or weight > Decimal(30) or weight != weight.quantize(Decimal("0.01")):
            return self._error(400, "30108", "Le poids du colis n'est pas valide (0,01 à 30 kg, 2 décimales)")
        instructions = parcel.get("instructions")
        if instructions is not None and len(str(instructions)) > 35:
            self.violations.append("generate_label: instructions longer than 35 characters")
            return self._error(400, "30109", "Les instructions ne doivent pas dépasser 35 caractères")
        addressee = letter["addressee"]["address"]
        sender = letter.get("sender", {}).get("address", {})
        if product in RETURN_PRODUCTS and not addressee.get("companyName"):
            return self._error(400, "30203", "La raison sociale du destinataire est obligatoire pour un retour")
        if product in RETURN_PRODUCTS and addressee.get("countryCode") != "FR":
            return self._error(400, "30204", "Un colis retour est adressé en France")
        if product == "CORE" and sender.get("countryCode") != "FR":
            return self._error(400, "30205", "Colissimo Retour France part de France métropolitaine")
        for who, address in (("sender", sender), ("addressee", addressee)):
            for line in ("line0", "line1", "line2", "line3", "lastName", "companyName", "city"):
                if len(str(address.get(line, ""))) > 35:
                    self.violations.append(f"generate_label: {who}.{line} longer than 35 characters")
                    return self._error(400, "30206", f"Le champ {who}.{line} dépasse 35 caractères")
        if service.get("mailBoxPicking") and product not in LETTERBOX_PRODUCTS:
            return self._error(400, "30301", "Le retour en boîte aux lettres n'est pas possible pour ce produit")
        serial = next(self._serials)
        prefix = PRODUCTS[product]
        number = s10_number(prefix, serial) if product == "CORF" else domestic_number(prefix, serial)
        label = Label(number, product, str(order) if order else None, body, self._clock(), printing)
        self.labels[number] = label
        if label.order_number:
            self.by_order[label.order_number].append(label)
        lines = [
            f"{product}  {addressee.get('companyName', '')}",
            f"{addressee.get('line2', '')} {addressee.get('zipCode', '')} {addressee.get('city', '')}",
            f"Exp. {sender.get('lastName', '')} {sender.get('zipCode', '')}",
        ]
        data = label_zpl(number, lines) if printing.startswith("ZPL") else label_pdf(number, lines)
        partner = f"{addressee.get('zipCode', '00000')}{number}{int(weight * 100):05d}"[:28]
        infos = envelope(
            [OK],
            {"parcelNumber": number, "parcelNumberPartner": partner, "pdfUrl": None, "fields": None},
        )
        payload, content_type = multipart(infos, {"label": data})
        if fault is not None and fault.kind == "stall_after_apply":
            await self._release.wait()
            raise _Reset
        return web.Response(status=200, body=payload, headers={"Content-Type": content_type})

    # -- the letterbox pickup -------------------------------------------------------------------------

    async def _plan_pickup(self, request: web.Request) -> web.StreamResponse:
        body, fault, early = await self._enter_sls(request, "plan_pickup", "/planPickup")
        if early is not None:
            return early
        number = str(body["parcelNumber"])
        day = self._plain_date("plan_pickup", body["mailBoxPickingDate"], "mailBoxPickingDate")
        if day is None:
            return self._json(200, {"messages": [message("30302", "La date d'emport n'est pas valide")]})
        if body["sender"].get("countryCode", "FR") != "FR":
            self.violations.append("plan_pickup: sender.countryCode must be FR")
            return self._json(200, {"messages": [message("30303", "Seule la valeur FR est autorisée")]})
        label = self.labels.get(number)
        if label is None:
            self.rejections.append(f"planPickup of unknown parcel {number}")
            return self._json(200, {"messages": [message("30304", "Le colis n'a pas été annoncé")]})
        if label.product not in LETTERBOX_PRODUCTS:
            self.rejections.append(f"planPickup of a {label.product} parcel")
            return self._json(200, {"messages": [message("30301", "Retour en boîte aux lettres impossible")]})
        if day not in self.mailbox_dates():
            self.rejections.append(f"planPickup on {day}, not offered")
            return self._json(200, {"messages": [message("30305", "Date d'emport non disponible")]})
        existing = self.pickups.get(number)
        if existing is not None:
            # La Poste holds one pickup per parcel: planning it again confirms (or moves) that one.
            existing.day = day
            existing.confirmations += 1
        else:
            self.pickups[number] = Pickup(number, day, dict(body["sender"]))
        if fault is not None and fault.kind == "stall_after_apply":
            await self._release.wait()
            raise _Reset
        return self._json(200, {"messages": [OK]})

    async def _mailbox_dates(self, request: web.Request) -> web.StreamResponse:
        _, _, early = await self._enter_sls(request, "mailbox_dates", "/getListMailBoxPickingDates")
        if early is not None:
            return early
        dates = [datetime.combine(d, time(0), PARIS).isoformat() for d in self.mailbox_dates()]
        return self._json(
            200,
            {"messages": [OK], "mailBoxPickingDateMaxHour": f"{self.cut_off:%H:%M}", "mailBoxPickingDates": dates},
        )

    # -- Suivi v2 -------------------------------------------------------------------------------------

    def _unit(self, number: str, lang: str) -> dict[str, Any]:
        scans = sorted(self.scans.get(number, []), key=lambda s: s.at, reverse=True)
        if not scans:
            label = self.labels.get(number)
            if label is None:
                return {
                    "lang": lang,
                    "scope": "open",
                    "returnCode": 104,
                    "returnMessage": "Votre suivi n'est pas encore disponible. Veuillez réessayer plus tard.",
                    "idShip": number,
                }
            scans = [Scan("DR1", label.created_at, "Votre Colissimo va bientôt nous être confié")]
        delivered = next((s for s in scans if s.code in ("DI1", "DI2")), None)
        shipment: dict[str, Any] = {
            "idShip": number,
            "holder": 4,
            "product": "Colissimo",
            "isFinal": delivered is not None,
            "entryDate": scans[-1].at.isoformat(),
            "timeline": [{"id": i, "shortLabel": f"Étape {i}", "status": i == 1, "type": 1} for i in range(1, 6)],
            "event": [{"code": s.code, "label": s.label, "date": s.at.isoformat(timespec="seconds")} for s in scans],
            "contextData": {"originCountry": "FR", "arrivalCountry": "FR"},
            "url": f"https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
        }
        if delivered is not None:
            shipment["deliveryDate"] = delivered.at.isoformat(timespec="seconds")
        return {"lang": lang, "scope": "open", "returnCode": 200, "shipment": shipment}

    async def _track(self, request: web.Request) -> web.StreamResponse:
        self.calls["track"] += 1
        self.requests.append(_Seen("track", dict(request.headers), request.path, request.query_string))
        if request.headers.get("X-Okapi-Key") != self.okapi_key:
            self.violations.append("track: missing or wrong X-Okapi-Key")
            return self._json(401, {"code": "UNAUTHORIZED", "message": "Invalid API key"})
        problems = []
        if request.headers.get("Accept") != "application/json":
            problems.append("Accept must be application/json")
        lang = request.query.get("lang", "fr_FR")
        if lang not in ("fr_FR", "en_GB", "de_DE", "it_IT", "es_ES", "nl_NL"):
            problems.append(f"lang {lang!r} is not offered")
        unknown = sorted(set(request.query) - {"lang"})
        if unknown:
            problems.append(f"unknown parameters: {', '.join(unknown)}")
        ids = request.match_info["idship"].split(",")
        if not 1 <= len(ids) <= 10 or not all(_IDSHIP.match(i) for i in ids):
            problems.append(f"idship {request.match_info['idship']!r}: 1 to 10 ids of 11 to 15 alphanumerics")
        if problems:
            self.violations.extend(f"track: {p}" for p in problems)
            return self._json(
                400,
                {
                    "returnCode": 400,
                    "returnMessage": "Le numéro que vous avez saisi n'est pas valide",
                    "idShip": ids[0],
                },
            )
        fault = self.faults["track"].popleft() if self.faults["track"] else None
        if fault is not None:
            early = await self._fault_before(fault, suivi=True)
            if early is not None:
                return early
        units = [self._unit(i.upper(), lang) for i in ids]
        if len(units) == 1:
            unit = units[0]
            return self._json(200 if unit["returnCode"] == 200 else 404, unit)
        return self._json(207, units)


# --------------------------------------------------------------------------------------------------------
# Standalone


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Colissimo SLS and La Poste Suivi v2 on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument("--api-key", default="fake-sls-key")
    parser.add_argument("--okapi-key", default="fake-okapi-key")
    parser.add_argument("--spec", type=Path, default=None, help=f"path to {SPEC_FILE}")
    args = parser.parse_args(argv)
    server = FakeColissimoServer(load_spec(args.spec), api_key=args.api_key, okapi_key=args.okapi_key)

    async def serve() -> None:
        await server.start(port=args.port)
        print(json.dumps({"sls_url": server.sls_url, "suivi_url": server.suivi_url}), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()


__all__ = [
    "FakeColissimoServer",
    "Fault",
    "Label",
    "Pickup",
    "SlsSpec",
    "domestic_number",
    "label_pdf",
    "load_spec",
    "multipart",
    "s10_number",
    "spec_path",
]
