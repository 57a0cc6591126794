"""The Colissimo adapter: SLS for labels and the letterbox pickup, La Poste Suivi v2 for tracking.

The request and answer shapes live in ``mapping``; this module sends them with the shared
``aiohttp.ClientSession`` from the ``CarrierContext`` and maps what comes back onto the error tree (the
shared rules of ``carriers.http``, fed with La Poste's own message id and text):

* an SLS answer whose messages hold an ``ERROR`` (400 functional, 422 malformed JSON, or a 200 multipart
  carrying the error) → ``CarrierRejected`` with SLS's message id; id ``30000`` (credentials refused) and
  403 → ``CarrierAuthError``;
* 401 from Suivi (the Okapi key) → ``CarrierAuthError``; 429 → ``CarrierRateLimited`` (La Poste sends
  ``TOO_MANY_REQUESTS``, with ``Retry-After`` when its gateway says so);
* 5xx, a timeout or a connection dropped after sending a ``generateLabel``: the label may exist, so
  ``CarrierAmbiguousError``; on tracking a transient error;
* ``planPickup`` confirms the collection of one parcel, and La Poste keeps one pickup per parcel number: sent
  again it confirms the same pickup, so its failures are retried like a read (never ambiguous);
* a connection refused before anything was sent → ``CarrierUnavailable`` whatever the call.

What SLS does not offer is not declared: no cancellation of a label (an unused Colissimo label is not
charged) or of a letterbox pickup, and no look-up by our reference (an ambiguous label is reconciled by an
operator from ``orderNumber``, which Colissimo keeps with the parcel). La Poste sends no tracking push.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Final, Literal, TypeVar

import aiohttp
from yarl import URL

from carriers.base import CarrierContext
from carriers.colissimo import mapping
from carriers.colissimo.settings import ColissimoSettings
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierNotSupported,
    CarrierRejected,
    CarrierUnavailable,
)
from carriers.http import error_from_exception, error_from_status
from carriers.models import (
    Capability,
    PickupBooking,
    PickupRequest,
    ShipmentBooking,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
)

logger = logging.getLogger(__name__)

CAPABILITIES: Final = frozenset(
    {
        Capability.SCHEDULE_PICKUP,
        Capability.CREATE_SHIPMENT,
        Capability.RETURN_SHIPMENT,
        Capability.TRACK,
    }
)

Api = Literal["sls", "suivi"]
_T = TypeVar("_T")


class _Answer:
    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


class ColissimoAdapter:
    """``CarrierAdapter`` for Colissimo (La Poste)."""

    name: str = mapping.CARRIER
    capabilities: frozenset[Capability] = CAPABILITIES
    max_track_batch: int = mapping.MAX_TRACK_BATCH

    def __init__(self, settings: ColissimoSettings, context: CarrierContext) -> None:
        self._settings = settings
        self._context = context
        self._sls = URL(settings.base_url)
        self._suivi = URL(settings.tracking_base_url)
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
        if settings.api_key is None or settings.okapi_key is None:
            logger.warning(
                "Colissimo is enabled without %s: its calls are refused until carriers.colissimo is configured",
                " and ".join(
                    n for n, k in (("api_key", settings.api_key), ("okapi_key", settings.okapi_key)) if k is None
                ),
            )

    def __repr__(self) -> str:  # never shows the keys
        return f"ColissimoAdapter(base_url={self._settings.base_url!r}, api_key=***, okapi_key=***)"

    # -- the letterbox pickup ----------------------------------------------------------------------------

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        body = mapping.plan_pickup_body(request)
        answer = await self._call("sls", "POST", "/planPickup", "schedule_pickup", json_body=body, creates=False)
        self._sls_answer("schedule_pickup", answer)
        booking = mapping.pickup_booking(request, body)
        logger.info(
            "Colissimo letterbox pickup planned: reference=%s parcel=%s date=%s",
            request.reference,
            booking.confirmation,
            booking.pickup_date,
        )
        return booking

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        raise CarrierNotSupported("SLS cannot cancel a letterbox pickup", carrier=self.name, operation="cancel_pickup")

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        raise CarrierNotSupported("SLS has no pickup look-up", carrier=self.name, operation="find_pickup")

    # -- labels ------------------------------------------------------------------------------------------

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        body = mapping.label_body(request, self._settings)
        product = str(body["letter"]["service"]["productCode"])
        answer = await self._call("sls", "POST", "/generateLabel", "create_shipment", json_body=body, creates=True)
        read = self._sls_answer("create_shipment", answer)
        booking = self._read("create_shipment", lambda: mapping.shipment_booking(request, read, product))
        logger.info(
            "Colissimo label created: reference=%s parcel=%s product=%s",
            request.reference,
            booking.shipment_id,
            product,
        )
        return booking

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        raise CarrierNotSupported(
            "SLS cannot cancel a label; an unused Colissimo label is not charged",
            carrier=self.name,
            operation="void_shipment",
        )

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        raise CarrierNotSupported("SLS has no look-up by orderNumber", carrier=self.name, operation="find_shipment")

    # -- tracking ----------------------------------------------------------------------------------------

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        numbers = list(dict.fromkeys(n.strip().upper() for n in tracking_numbers))
        if len(numbers) > self.max_track_batch:
            raise ValueError(f"at most {self.max_track_batch} numbers per La Poste tracking call")
        # A number La Poste could never have issued is not sent: Suivi refuses the whole call for one bad id.
        valid = [n for n in numbers if mapping.is_valid_colissimo_number(n)]
        results: dict[str, TrackingResult] = {}
        if valid:
            path = "/idships/" + ",".join(valid)
            query = [("lang", self._settings.tracking_language)]
            answer = await self._call("suivi", "GET", path, "track", query=query, creates=False, not_found_ok=True)
            for result in self._read("track", lambda: mapping.tracking_results(valid, answer.status, answer.body)):
                results[result.tracking_number] = result
        return [
            results.get(n.strip().upper(), TrackingResult(tracking_number=n.strip().upper(), found=False))
            for n in tracking_numbers
        ]

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        raise CarrierNotSupported("La Poste sends no tracking pushes", carrier=self.name, operation="parse_push")

    async def check_credentials(self) -> list[str]:
        """Prove both keys with calls that change nothing; one line per API, or ``CarrierAuthError``.

        SLS: the letterbox collection dates of a Paris address (``getListMailBoxPickingDates``). Suivi: a
        well-formed parcel number nobody was issued (La Poste answers "not yet available" to a good key).
        """
        body = {"sender": {"zipCode": "75007", "city": "Paris", "countryCode": "FR"}}
        answer = await self._call("sls", "POST", "/getListMailBoxPickingDates", "check", json_body=body, creates=False)
        self._sls_answer("check", answer)
        probe = "8R00000000000"
        await self._call("suivi", "GET", f"/idships/{probe}", "check", creates=False, not_found_ok=True)
        return [
            f"SLS {self._settings.base_url}: apiKey accepted",
            f"Suivi {self._settings.tracking_base_url}: Okapi key accepted",
        ]

    async def check_access(self) -> str:
        """``logistics carriers check``: both keys proved by calls that change nothing."""
        return "; ".join(await self.check_credentials())

    async def aclose(self) -> None:
        """Nothing to release: the HTTP session belongs to the service."""

    # -- HTTP --------------------------------------------------------------------------------------------

    def _read(self, operation: str, parse: Callable[[], _T]) -> _T:
        try:
            return parse()
        except (ValueError, TypeError, KeyError) as exc:
            # A 2xx we cannot read: on a label, SLS may have created it, so the caller must reconcile.
            message = f"unreadable Colissimo answer: {exc}"
            if operation == "create_shipment":
                raise CarrierAmbiguousError(message, carrier=self.name, operation=operation) from exc
            raise CarrierUnavailable(message, carrier=self.name, operation=operation) from exc

    def _sls_answer(self, operation: str, answer: _Answer) -> mapping.SlsAnswer:
        """A successful SLS answer, or the refusal its messages hold (SLS may say ERROR with a 200)."""
        read = self._read(operation, lambda: mapping.read_sls_answer(answer.content_type, answer.body))
        error = read.infos.first_error()
        if error is not None:
            raise self._refusal(operation, error.id, error.messageContent)
        return read

    def _refusal(self, operation: str, code: str, message: str) -> CarrierRejected | CarrierAuthError:
        text = f"{code}: {message}" if code else message
        if code in mapping.AUTH_MESSAGE_IDS:
            return CarrierAuthError(text, carrier=self.name, operation=operation)
        return CarrierRejected(text, code=code, carrier=self.name, operation=operation)

    async def _call(
        self,
        api: Api,
        method: Literal["GET", "POST"],
        path: str,
        operation: str,
        *,
        creates: bool,
        json_body: dict[str, Any] | None = None,
        query: list[tuple[str, str]] | None = None,
        not_found_ok: bool = False,
    ) -> _Answer:
        base = self._sls if api == "sls" else self._suivi
        url = base.with_path(base.path.rstrip("/") + path, encoded=False)
        key = self._settings.api_key if api == "sls" else self._settings.okapi_key
        if key is None:
            setting = "api_key (SLS)" if api == "sls" else "okapi_key (Suivi v2)"
            raise CarrierAuthError(
                f"Colissimo is not configured: carriers.colissimo.{setting} is not set; nothing was sent",
                carrier=self.name,
                operation=operation,
            )
        if api == "sls":
            headers = {"apiKey": key.get_secret_value(), "Accept": "multipart/mixed, application/json"}
        else:
            headers = {"X-Okapi-Key": key.get_secret_value(), "Accept": "application/json"}
        logger.debug("Colissimo %s %s (%s)", method, path, operation)
        try:
            async with self._context.session.request(
                method,
                url,
                params=query,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                raw = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "")
                response_headers = response.headers.copy()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = error_from_exception(
                exc, carrier=self.name, operation=operation, creates=creates, now=self._context.clock.now()
            )
            logger.warning("Colissimo %s failed: %s", operation, error.message)
            raise error from exc

        if 200 <= status < 300 or (not_found_ok and status == 404):
            return _Answer(status, content_type, raw)
        problem = mapping.parse_problem(status, content_type, raw)
        if status in (400, 422) and api == "sls" and problem.code in mapping.AUTH_MESSAGE_IDS:
            raise self._refusal(operation, problem.code, problem.message)
        error = error_from_status(
            status,
            carrier=self.name,
            operation=operation,
            creates=creates,
            now=self._context.clock.now(),
            headers=response_headers,
            code=problem.code,
            message=f"{problem.code}: {problem.message}" if problem.message else problem.code,
        )
        logger.warning("Colissimo %s failed: %s", operation, error.message)
        raise error
