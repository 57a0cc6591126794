"""The DHL Express adapter: one HTTP call to the MyDHL API 3.1.1 per operation, answers mapped to models.

The request and response shapes live in ``mapping``; this module sends them with the shared
``aiohttp.ClientSession`` from the ``CarrierContext`` and maps what comes back onto the error tree (the
shared rules of ``carriers.http``, fed with DHL's own code and message from its problem body):

* 400 with DHL's business code (``998:`` bad date or format, ``8003:`` account not allowed …) and 422 (schema
  validation) → ``CarrierRejected`` with DHL's code and message; 404 → ``CarrierNotFound``;
* 401 and 403 → ``CarrierAuthError`` (Basic auth has no token to refresh);
* 429 → ``CarrierRateLimited`` with the ``Retry-After`` seconds when DHL sends the header;
* 5xx, a timeout or a connection dropped after sending: on a create (POST) the booking may exist, so
  ``CarrierAmbiguousError``; on reads and on cancels (cancelling twice is harmless) a transient error;
* a connection refused before anything was sent → ``CarrierUnavailable`` whatever the method.

What MyDHL does not offer is not declared: there is no void for a shipment (an unused DHL label is not
billed), no lookup of a pickup by our reference (reconciling a pickup after an ambiguous outcome relies on
the service's outbox, and a duplicate is cancelled once found) and no tracking push.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final, Literal, TypeVar

import aiohttp
from yarl import URL

from carriers.base import CarrierContext
from carriers.dhl_express import mapping
from carriers.dhl_express.settings import DhlExpressSettings
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierNotFound,
    CarrierNotSupported,
    CarrierRejected,
    CarrierUnavailable,
)
from carriers.http import error_from_exception, error_from_status
from carriers.models import (
    Capability,
    CarrierLabel,
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
        Capability.CANCEL_PICKUP,
        Capability.CREATE_SHIPMENT,
        Capability.RETURN_SHIPMENT,
        Capability.FIND_SHIPMENT,
        Capability.TRACK,
        Capability.RECOVER_LABEL,
    }
)
#: The interface version MyDHL 3.1.1 asks clients to send unchanged.
API_VERSION: Final = "3.1.0"

Method = Literal["GET", "POST", "DELETE"]
_T = TypeVar("_T")


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


class DhlExpressAdapter:
    """``CarrierAdapter`` for DHL Express through the MyDHL API."""

    name: str = mapping.CARRIER
    capabilities: frozenset[Capability] = CAPABILITIES
    max_track_batch: int = mapping.MAX_TRACK_BATCH

    def __init__(self, settings: DhlExpressSettings, context: CarrierContext) -> None:
        self._settings = settings
        self._context = context
        self._base = URL(settings.base_url)
        credentials = f"{settings.api_key.get_secret_value()}:{settings.api_secret.get_secret_value()}"
        # Built once and kept private; headers are never logged.
        self._authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
        # DHL's reference search lags behind its bookings: see ``carriers.base.CarrierAdapter.lookup_lag_s``.
        self.lookup_lag_s = settings.reference_search_lag_s

    def __repr__(self) -> str:  # never shows the credentials
        return f"DhlExpressAdapter(base_url={self._settings.base_url!r}, account=***)"

    # -- pickups ----------------------------------------------------------------------------------------

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        body = mapping.pickup_body(request, self._settings)
        answer = await self._call("POST", "/pickups", "schedule_pickup", json_body=body, reference=request.reference)
        booking = self._read("schedule_pickup", lambda: mapping.pickup_booking(request, answer))
        logger.info("DHL pickup booked: reference=%s dispatch=%s", request.reference, booking.confirmation)
        return booking

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        path = f"/pickups/{booking.confirmation}"
        try:
            await self._call(
                "DELETE",
                path,
                "cancel_pickup",
                query=list(mapping.cancel_pickup_query(self._settings).items()),
                reference=booking.reference,
            )
        except CarrierNotFound:
            # A pickup DHL no longer knows cannot happen: the cancel's purpose is met.
            logger.info("DHL pickup %s not found on cancel; counted as cancelled", booking.confirmation)
            return
        except CarrierRejected as exc:
            if mapping.is_already_cancelled(exc.message):
                logger.info("DHL pickup %s was already cancelled or completed", booking.confirmation)
                return
            raise
        logger.info("DHL pickup cancelled: reference=%s dispatch=%s", booking.reference, booking.confirmation)

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        raise CarrierNotSupported("MyDHL has no pickup lookup by reference", carrier=self.name, operation="find_pickup")

    # -- shipments --------------------------------------------------------------------------------------

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        body = mapping.shipment_body(request, self._settings, self._context.clock.now())
        answer = await self._call("POST", "/shipments", "create_shipment", json_body=body, reference=request.reference)
        booking = self._read(
            "create_shipment", lambda: mapping.shipment_booking(request, answer, str(body["productCode"]))
        )
        logger.info(
            "DHL shipment created: reference=%s waybill=%s return=%s",
            request.reference,
            booking.shipment_id,
            request.is_return,
        )
        return booking

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        raise CarrierNotSupported(
            "MyDHL has no shipment void; an unused DHL label is not billed",
            carrier=self.name,
            operation="void_shipment",
        )

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        today = self._context.clock.now().date()
        query = mapping.reference_search_query(reference, self._settings, today)
        try:
            answer = await self._call("GET", "/tracking", "find_shipment", query=query, reference=reference)
        except CarrierNotFound:
            return None
        return self._read("find_shipment", lambda: mapping.found_shipment(reference, answer))

    async def recover_label(self, booking: ShipmentBooking) -> CarrierLabel | None:
        """The waybill document DHL archived with the shipment (see ``mapping.image_query``): this month's
        pickups first, then last month's, for a shipment booked just before the month turned."""
        number = booking.shipment_id
        this_month = self._context.clock.now().date().replace(day=1)
        for month in (this_month, (this_month - timedelta(days=1)).replace(day=1)):
            try:
                answer = await self._call(
                    "GET",
                    f"/shipments/{number}/get-image",
                    "recover_label",
                    query=mapping.image_query(self._settings, month),
                    reference=booking.reference,
                )
            except CarrierNotFound:
                continue
            return self._read("recover_label", functools.partial(mapping.retrieved_image, number, answer))
        return None

    async def check_access(self) -> str:
        """Search shipments by a reference no shipment has: MyDHL has no token call, and a search proves the
        API key and secret and the account's access to tracking; nothing is booked."""
        await self.find_shipment(f"access-check-{uuid.uuid4().hex[:12]}")
        return "shipment search answered with our credentials"

    # -- tracking ---------------------------------------------------------------------------------------

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        numbers = list(dict.fromkeys(tracking_numbers))
        if len(numbers) > self.max_track_batch:
            raise ValueError(f"at most {self.max_track_batch} numbers per DHL tracking call")
        if not numbers:
            return []
        try:
            answer = await self._call("GET", "/tracking", "track", query=mapping.tracking_query(numbers))
        except CarrierNotFound:
            # DHL answers 404 when none of the numbers has data yet (new labels take a while to appear).
            return [TrackingResult(tracking_number=n, found=False) for n in tracking_numbers]
        zone = self._settings.tracking_zone  # GET /tracking gives local times without offsets
        parsed = self._read("track", lambda: mapping.tracking_results(numbers, answer, zone))
        results = {r.tracking_number: r for r in parsed}
        return [results[n] for n in tracking_numbers]

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        raise CarrierNotSupported("MyDHL sends no tracking pushes", carrier=self.name, operation="parse_push")

    async def aclose(self) -> None:
        """Nothing to release: the HTTP session belongs to the service."""

    # -- HTTP -------------------------------------------------------------------------------------------

    def _read(self, operation: str, parse: Callable[[], _T]) -> _T:
        try:
            return parse()
        except (ValueError, TypeError, KeyError) as exc:
            # A 2xx we cannot read: on a create, DHL may have booked it, so the caller must reconcile.
            message = f"unreadable DHL answer: {exc}"
            if operation in {"schedule_pickup", "create_shipment"}:
                raise CarrierAmbiguousError(message, carrier=self.name, operation=operation) from exc
            raise CarrierUnavailable(message, carrier=self.name, operation=operation) from exc

    async def _call(
        self,
        method: Method,
        path: str,
        operation: str,
        *,
        json_body: dict[str, Any] | None = None,
        query: list[tuple[str, str]] | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        url = self._base.with_path(self._base.path.rstrip("/") + path)
        headers = {
            "Message-Reference": mapping.message_reference(reference, uuid.uuid4().hex + uuid.uuid4().hex),
            "x-version": API_VERSION,
            "Accept": "application/json",
            "Authorization": self._authorization,
        }
        # A create may have been applied once the request left; a read or a cancel can simply be repeated.
        creates = method == "POST"
        logger.debug("DHL %s %s (%s) message-reference=%s", method, path, operation, headers["Message-Reference"])
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
                response_headers = response.headers.copy()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = error_from_exception(
                exc, carrier=self.name, operation=operation, creates=creates, now=self._context.clock.now()
            )
            logger.warning("DHL %s failed: %s", operation, error.message)
            raise error from exc

        if 200 <= status < 300:
            return self._read(operation, lambda: _json_object(raw))
        problem = mapping.parse_problem(status, raw)
        error = error_from_status(
            status,
            carrier=self.name,
            operation=operation,
            creates=creates,
            now=self._context.clock.now(),
            headers=response_headers,
            code=problem.code,
            message=problem.message,
            field=problem.field,
        )
        logger.warning("DHL %s failed: %s (code %s)", operation, error.message, problem.code)
        raise error
