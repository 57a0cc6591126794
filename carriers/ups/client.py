"""The UPS adapter: one HTTP attempt per call against UPS's REST APIs, answers mapped onto neutral models.

Wire shapes live in ``mapping`` and ``schemas``; this module does the I/O: bearer tokens (``oauth``), the
``transId``/``transactionSrc`` headers, one token refresh and one resend after a 401, and the translation of
failures into ``carriers.errors`` through ``carriers.http`` (a 5xx, timeout or reset on a create is
ambiguous; 429 comes without Retry-After from UPS, so ``retry_after`` is then None).

Reconciliation, since UPS offers no idempotency key:

* pickups carry our reference in ``ReferenceNumber``; ``find_pickup`` reads Pickup Pending Status (today and
  tomorrow only, as UPS shows no more) and matches reference and date. UPS also answers a second creation
  for the same address and date with the same PRN, so a repeated create does not book a second courier;
* shipments carry our reference in a reference number; ``find_shipment`` uses track-by-reference over the
  last ``reference_lookback_days``, and ignores packages whose manifest was voided;
* cancel and void are idempotent: when UPS refuses to cancel, the PRN is looked up in Pending Status and a
  pickup no longer pending counts as cancelled; a void UPS refuses counts as done when tracking shows the
  manifest voided (``MV``).

Track Alert: with a push credential configured (``webhook_credential``), each new shipment's numbers are
subscribed beside the create (``subscribe``), so UPS pushes their events for 14 days; a subscription that
fails is logged and the numbers are polled as any others.

Retries, deadlines and the breaker are not here: ``carriers.resilience`` wraps this adapter.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from carriers.base import CarrierContext
from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierError,
    CarrierNotFound,
    CarrierPushAuthError,
    CarrierPushMalformed,
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
from carriers.ups import mapping
from carriers.ups.oauth import TokenProvider
from carriers.ups.settings import UpsSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

CAPABILITIES = frozenset(Capability)
SUBSCRIPTION_GRACE_S = 5.0  # how long closing waits for Track Alert subscriptions under way


class _Answer:
    __slots__ = ("headers", "payload", "status", "text")

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self.payload = mapping.json_or_none(text)


class UpsAdapter:
    """``CarrierAdapter`` for UPS, built by ``create_adapter``; the HTTP session belongs to the caller."""

    name = "ups"
    capabilities = CAPABILITIES
    max_track_batch = 1

    def __init__(self, settings: UpsSettings, context: CarrierContext) -> None:
        self._settings = settings
        self._context = context
        self._base = settings.base_url.rstrip("/")
        self.tokens = TokenProvider(context.session, settings, context.clock)
        self._subscribing: set[asyncio.Task[None]] = set()

    async def check_access(self) -> str:
        """Ask UPS for an OAuth token: it proves the client id and secret; nothing is booked."""
        await self.tokens.token()
        return "OAuth token issued for the client id"

    # -- pickups -------------------------------------------------------------------------------------

    async def schedule_pickup(self, request: PickupRequest) -> PickupBooking:
        body = mapping.pickup_creation_request(request, self._settings)
        answer = await self._send(
            "POST",
            f"/api/pickupcreation/{self._settings.api_version}/pickup",
            "schedule_pickup",
            creates=True,
            json_body=body,
        )
        booking = self._parse(mapping.parse_pickup_creation, "schedule_pickup", True, answer.payload, request)
        logger.info("UPS pickup booked: reference=%s prn=%s", request.reference, booking.confirmation)
        return booking

    async def cancel_pickup(self, booking: PickupBooking) -> None:
        try:
            answer = await self._send(
                "DELETE",
                f"/api/shipments/{self._settings.api_version}/pickup/02",
                "cancel_pickup",
                creates=False,
                headers={"Prn": booking.confirmation},
            )
        except CarrierRejected as refused:
            # UPS refuses to cancel a pickup that is no longer pending (already cancelled or done).
            if await self._pickup_is_live(booking.confirmation):
                raise
            logger.info(
                "UPS pickup %s is no longer pending: counted as cancelled (%s)",
                booking.confirmation,
                refused.code,
            )
            return
        code = self._parse(mapping.parse_pickup_cancel, "cancel_pickup", False, answer.payload)
        if code != "1":
            raise CarrierRejected(
                f"UPS did not cancel pickup (status {code})",
                code=code,
                carrier="ups",
                operation="cancel_pickup",
            )
        logger.info("UPS pickup cancelled: prn=%s", booking.confirmation)

    async def find_pickup(self, reference: str, pickup_date: date) -> PickupBooking | None:
        payload = await self._pending_status("find_pickup")
        return self._parse(mapping.find_pending_pickup, "find_pickup", False, payload, reference, pickup_date)

    async def _pending_status(self, operation: str) -> Any:
        answer = await self._send(
            "GET",
            f"/api/shipments/{self._settings.api_version}/pickup/oncall",
            operation,
            creates=False,
            headers={"AccountNumber": self._settings.account_number},
        )
        return answer.payload

    async def _pickup_is_live(self, prn: str) -> bool:
        payload = await self._pending_status("cancel_pickup")
        return self._parse(mapping.pickup_is_live, "cancel_pickup", False, payload, prn)

    # -- shipments -----------------------------------------------------------------------------------

    async def create_shipment(self, request: ShipmentRequest) -> ShipmentBooking:
        body = mapping.ship_request(request, self._settings)
        answer = await self._send(
            "POST",
            f"/api/shipments/{self._settings.api_version}/ship",
            "create_shipment",
            creates=True,
            json_body=body,
        )
        booking = self._parse(
            mapping.parse_ship_response, "create_shipment", True, answer.payload, request, self._settings
        )
        logger.info(
            "UPS shipment created: reference=%s shipment=%s return=%s",
            request.reference,
            booking.shipment_id,
            request.is_return,
        )
        if self._settings.webhook_credential is not None:
            self._subscribe_later(booking.tracking_numbers)
        return booking

    async def recover_label(self, booking: ShipmentBooking) -> CarrierLabel | None:
        """UPS Label Recovery: the label of the booking's first package, as the Ship API issued it."""
        number = booking.tracking_numbers[0]
        answer = await self._send(
            "POST",
            "/api/labels/v1/recovery",
            "recover_label",
            creates=False,
            json_body=mapping.label_recovery_request(number, booking.reference, self._settings),
        )
        label = self._parse(mapping.parse_label_recovery, "recover_label", False, answer.payload, number)
        logger.info("UPS label recovered: reference=%s tracking=%s", booking.reference, number)
        return label

    async def void_shipment(self, booking: ShipmentBooking) -> None:
        try:
            answer = await self._send(
                "DELETE",
                f"/api/shipments/{self._settings.api_version}/void/cancel/{booking.shipment_id}",
                "void_shipment",
                creates=False,
            )
        except CarrierRejected as refused:
            if await self._manifest_voided(booking.shipment_id):
                logger.info("UPS shipment %s was already voided (%s)", booking.shipment_id, refused.code)
                return
            raise
        code = self._parse(mapping.parse_void_response, "void_shipment", False, answer.payload)
        if code != "1":  # "1 = Voided or Already Voided"
            raise CarrierRejected(
                f"UPS did not void shipment (status {code})",
                code=code,
                carrier="ups",
                operation="void_shipment",
            )
        logger.info("UPS shipment voided: %s", booking.shipment_id)

    async def _manifest_voided(self, shipment_id: str) -> bool:
        result = await self._track_one(shipment_id, "void_shipment")
        # A manifest void is final: any MV scan means the label can no longer be used.
        return any(event.raw_code.split("/")[0] == "MV" for event in result.events)

    async def find_shipment(self, reference: str) -> ShipmentBooking | None:
        today = self._context.clock.now().date()
        params = {
            "locale": self._settings.locale,
            "fromPickUpDate": (today - timedelta(days=self._settings.reference_lookback_days)).strftime("%Y%m%d"),
            "toPickUpDate": today.strftime("%Y%m%d"),
            "shipperNum": self._settings.shipper_number,
            "refNumType": "SmallPackage",
        }
        try:
            answer = await self._send(
                "GET",
                f"/api/track/v1/reference/details/{reference}",
                "find_shipment",
                creates=False,
                params=params,
            )
        except CarrierNotFound:
            return None
        return self._parse(mapping.shipment_from_reference_track, "find_shipment", False, answer.payload, reference)

    # -- tracking ------------------------------------------------------------------------------------

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        if len(tracking_numbers) > self.max_track_batch:
            raise ValueError(f"UPS tracks one number per call, got {len(tracking_numbers)}")
        return [await self._track_one(number, "track") for number in tracking_numbers]

    async def _track_one(self, number: str, operation: str) -> TrackingResult:
        params = {"locale": self._settings.locale, "returnSignature": "false", "returnMilestones": "false"}
        try:
            answer = await self._send("GET", f"/api/track/v1/details/{number}", operation, creates=False, params=params)
        except CarrierNotFound:
            return TrackingResult(tracking_number=number, found=False)
        return self._parse(mapping.parse_track_response, operation, False, answer.payload, number)

    # -- pushes --------------------------------------------------------------------------------------

    def parse_push(self, headers: Mapping[str, str], body: bytes) -> list[TrackingEvent]:
        """Verify a Track Alert POST by the ``credential`` header UPS echoes from the subscription."""
        expected = self._settings.webhook_credential
        if expected is None:
            raise CarrierPushAuthError("no UPS webhook credential is configured", carrier="ups", operation="parse_push")
        given = _header(headers, "credential")
        if given is None or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise CarrierPushAuthError("UPS push credential missing or wrong", carrier="ups", operation="parse_push")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise CarrierPushMalformed("UPS push body is not JSON", carrier="ups", operation="parse_push") from exc
        return mapping.parse_track_alert(payload)

    # -- Track Alert --------------------------------------------------------------------------------------

    async def subscribe(self, tracking_numbers: Sequence[str]) -> list[str]:
        """Subscribe numbers to Track Alert (pushes for 14 days, to the URL and with the credential registered
        for the app); returns the numbers UPS refused."""
        refused: list[str] = []
        for start in range(0, len(tracking_numbers), mapping.SUBSCRIPTION_BATCH):
            batch = tracking_numbers[start : start + mapping.SUBSCRIPTION_BATCH]
            answer = await self._send(
                "POST",
                "/api/track/v2/subscription/standard/package",
                "subscribe",
                creates=False,
                json_body=mapping.track_alert_subscription(batch, self._settings),
            )
            _, invalid = self._parse(mapping.parse_subscription, "subscribe", False, answer.payload)
            refused.extend(invalid)
        return refused

    def _subscribe_later(self, tracking_numbers: Sequence[str]) -> None:
        # Beside the booking, not inside it: a subscription that fails or hangs must neither slow a create
        # nor make it look ambiguous. Polling is the backstop for any number not subscribed.
        task = asyncio.create_task(self._subscribe_quietly(tuple(tracking_numbers)), name="ups:track-alert")
        self._subscribing.add(task)
        task.add_done_callback(self._subscribing.discard)

    async def _subscribe_quietly(self, tracking_numbers: Sequence[str]) -> None:
        try:
            refused = await self.subscribe(tracking_numbers)
        except CarrierError as exc:
            logger.warning("UPS Track Alert subscription failed (%s): these numbers are polled", exc)
            return
        if refused:
            logger.warning("UPS Track Alert refused %s: these numbers are polled", ", ".join(refused))
        else:
            logger.info("UPS Track Alert subscribed %s", ", ".join(tracking_numbers))

    async def subscriptions_settled(self) -> None:
        """Wait for the Track Alert subscriptions under way."""
        while self._subscribing:
            await asyncio.wait(set(self._subscribing))

    async def aclose(self) -> None:
        # The session is the caller's; subscriptions still under way get a moment, then are dropped.
        if self._subscribing:
            _, late = await asyncio.wait(set(self._subscribing), timeout=SUBSCRIPTION_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # -- I/O -----------------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        creates: bool,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        """One request; after a 401 one token refresh and one resend (the 401 proves nothing was applied)."""
        token = await self.tokens.token()
        answer = await self._exchange(method, path, operation, creates, token, json_body, params, headers)
        if answer.status == 401:
            logger.info("UPS refused the bearer token on %s: refreshing once", operation)
            token = await self.tokens.refresh(token)
            answer = await self._exchange(method, path, operation, creates, token, json_body, params, headers)
        if 200 <= answer.status < 300:
            return answer
        code, message = mapping.first_error(answer.payload)
        if answer.status == 401:
            raise CarrierAuthError(
                f"HTTP 401: UPS refused a fresh token ({code} {message})".strip(),
                carrier="ups",
                operation=operation,
            )
        raise error_from_status(
            answer.status,
            carrier="ups",
            operation=operation,
            creates=creates,
            now=self._context.clock.now(),
            headers=answer.headers,
            body=answer.text,
            code=code,
            message=f"{code} {message}".strip() if code or message else None,
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        operation: str,
        creates: bool,
        token: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> _Answer:
        all_headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            # A correlation id only: UPS documents no de-duplication by transId.
            "transId": uuid.uuid4().hex,
            "transactionSrc": self._settings.transaction_src,
            **(headers or {}),
        }
        try:
            async with self._context.session.request(
                method,
                self._base + path,
                json=json_body,
                params=params,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=self._settings.request_timeout_s),
            ) as response:
                text = await response.text(errors="replace")
                return _Answer(response.status, response.headers, text)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            error = error_from_exception(exc, carrier="ups", operation=operation, creates=creates)
            logger.warning("UPS %s failed: %s", operation, type(error).__name__)
            raise error from exc

    def _parse(self, parser: Callable[..., T], operation: str, creates: bool, payload: Any, *args: Any) -> T:
        """Run a mapping parser; a 2xx body we cannot read is not a rejection but a broken answer."""
        try:
            return parser(payload, *args)
        except (ValidationError, ValueError, TypeError) as exc:
            message = f"UPS answer to {operation} unreadable: {type(exc).__name__}"
            if creates:
                # The booking happened but we cannot read its number: reconcile by reference.
                raise CarrierAmbiguousError(message, carrier="ups", operation=operation) from exc
            raise CarrierUnavailable(message, carrier="ups", operation=operation) from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def create_adapter(settings: BaseModel, context: CarrierContext) -> UpsAdapter:
    """The plug-in factory: takes the validated ``UpsSettings`` slice (or a model that validates as one)."""
    if not isinstance(settings, UpsSettings):
        settings = UpsSettings.model_validate(settings.model_dump())
    return UpsAdapter(settings, context)


__all__ = ["CAPABILITIES", "UpsAdapter", "create_adapter"]
