"""Turning HTTP answers and aiohttp failures into the carrier error tree, the same way for every adapter.

Adapters parse their carrier's own error bodies (codes, messages, fields) and pass them in; what is common
lives here:

* ``parse_retry_after``: RFC 9110 ``Retry-After`` as delay-seconds or an HTTP-date, never negative, capped;
* ``error_from_status``: a status code (plus headers and body) to the right ``CarrierError``;
* ``error_from_response``: the same, reading an ``aiohttp.ClientResponse``;
* ``error_from_exception``: an aiohttp or timeout exception to the right ``CarrierError``.

``creates`` says the call books something (pickup, shipment): then a failure that may have happened after the
carrier applied it (5xx, a timeout or reset after sending) is a ``CarrierAmbiguousError`` to be reconciled
by reference, never a plain retryable error. Failures before sending (connection refused, DNS, connect
timeout) are ``CarrierUnavailable`` whatever the call. Cancels and voids pass ``creates=False``: repeating
them is harmless. Nothing here does I/O except reading a response body that the caller already has.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierError,
    CarrierNotFound,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)

DEFAULT_RETRY_AFTER_CAP_S = 120.0
_SUMMARY_LIMIT = 200
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def parse_retry_after(value: str | None, *, now: datetime, cap_s: float = DEFAULT_RETRY_AFTER_CAP_S) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value, or None when absent or unreadable.

    A date in the past means "now" (0 s); anything longer than ``cap_s`` is cut to ``cap_s`` so a careless
    or hostile header cannot park a worker for hours.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; obsolete formats may come naive
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), cap_s)


def summarize_body(body: str, content_type: str = "") -> str:
    """A short, single-line text of an error body: HTML pages (proxies, load balancers) lose their markup."""
    text = body
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        text = html.unescape(_TAG.sub(" ", text))
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"


def error_from_status(
    status: int,
    *,
    carrier: str,
    operation: str,
    creates: bool,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    body: str = "",
    code: str = "",
    message: str | None = None,
    field: str | None = None,
    retry_after_cap_s: float = DEFAULT_RETRY_AFTER_CAP_S,
) -> CarrierError:
    """The error for a non-success status. ``code``/``message``/``field`` are the carrier's, when parsed.

    Mapping: 429 → ``CarrierRateLimited`` (``retry_after`` from the header, None without one, as UPS does);
    401/403 → ``CarrierAuthError``; 404 → ``CarrierNotFound``; 408 → ``CarrierTimeout`` (or ambiguous for a
    create); other 4xx → ``CarrierRejected``; 5xx → ``CarrierUnavailable``, or ``CarrierAmbiguousError``
    for a create.
    """
    headers = headers or {}
    content_type = _header(headers, "Content-Type") or ""
    text = message if message is not None else summarize_body(body, content_type)
    described = f"HTTP {status}" + (f": {text}" if text else "")
    if status == 429:
        retry_after = parse_retry_after(_header(headers, "Retry-After"), now=now, cap_s=retry_after_cap_s)
        return CarrierRateLimited(described, retry_after=retry_after, carrier=carrier, operation=operation)
    if status in (401, 403):
        return CarrierAuthError(described, carrier=carrier, operation=operation)
    if status == 404:
        return CarrierNotFound(described, code=code or "404", field=field, carrier=carrier, operation=operation)
    if status == 408 or status >= 500:
        if creates:
            return CarrierAmbiguousError(
                f"{described} (the booking may have been applied)", carrier=carrier, operation=operation
            )
        if status == 408:
            return CarrierTimeout(described, carrier=carrier, operation=operation)
        return CarrierUnavailable(described, status=status, carrier=carrier, operation=operation)
    return CarrierRejected(described, code=code or str(status), field=field, carrier=carrier, operation=operation)


async def error_from_response(
    response: aiohttp.ClientResponse,
    *,
    carrier: str,
    operation: str,
    creates: bool,
    now: datetime,
    code: str = "",
    message: str | None = None,
    field: str | None = None,
    retry_after_cap_s: float = DEFAULT_RETRY_AFTER_CAP_S,
) -> CarrierError:
    """``error_from_status`` for an aiohttp response; reads the body as text (undecodable bytes replaced)."""
    try:
        body = await response.text(errors="replace")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return error_from_exception(exc, carrier=carrier, operation=operation, creates=creates, now=now)
    return error_from_status(
        response.status,
        carrier=carrier,
        operation=operation,
        creates=creates,
        now=now,
        headers=response.headers,
        body=body,
        code=code,
        message=message,
        field=field,
        retry_after_cap_s=retry_after_cap_s,
    )


def error_from_exception(
    exc: BaseException, *, carrier: str, operation: str, creates: bool, now: datetime | None = None
) -> CarrierError:
    """The error for an exception raised while calling a carrier.

    Before sending (connect refused, DNS, TLS handshake, connect timeout): ``CarrierUnavailable``. After
    sending (read timeout, reset, disconnect, truncated body): ``CarrierAmbiguousError`` for a create,
    otherwise ``CarrierTimeout`` (timeouts) or ``CarrierUnavailable``. A ``CarrierError`` is returned as is;
    ``ClientResponseError`` (from ``raise_for_status``) goes through ``error_from_status`` (``now`` is needed
    only for a Retry-After date). Anything else is a bug, not a carrier failure: ``TypeError``.
    """
    if isinstance(exc, CarrierError):
        return exc
    detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    # ConnectionTimeoutError (connect phase) subclasses ServerTimeoutError: test it before the read timeouts.
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError | aiohttp.InvalidURL):
        return CarrierUnavailable(f"not sent: {detail}", carrier=carrier, operation=operation)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        if creates:
            return CarrierAmbiguousError(f"no answer after sending: {detail}", carrier=carrier, operation=operation)
        return CarrierTimeout(f"no answer: {detail}", carrier=carrier, operation=operation)
    if isinstance(exc, aiohttp.ClientResponseError):
        return error_from_status(
            exc.status,
            creates=creates,
            now=now or datetime.now(UTC),
            headers=exc.headers or {},
            message=exc.message,
            carrier=carrier,
            operation=operation,
        )
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        if creates:
            return CarrierAmbiguousError(
                f"connection lost after sending: {detail}", carrier=carrier, operation=operation
            )
        return CarrierUnavailable(f"connection lost: {detail}", carrier=carrier, operation=operation)
    raise TypeError(f"not a carrier call failure: {detail}") from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's CIMultiDictProxy is case-insensitive already; a plain dict from a test may not be.
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
