"""HTTP answers and aiohttp failures become the right carrier errors."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from carriers.errors import (
    CarrierAmbiguousError,
    CarrierAuthError,
    CarrierNotFound,
    CarrierRateLimited,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.http import (
    error_from_exception,
    error_from_status,
    parse_retry_after,
    summarize_body,
)

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("0", 0.0),
        ("Mon, 03 Mar 2025 08:00:30 GMT", 30.0),
        ("Mon, 03 Mar 2025 07:59:00 GMT", 0.0),  # in the past: go now
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # obsolete RFC 850 form
        ("Tue, 04 Mar 2025 08:00:00 GMT", 120.0),  # a day away: capped
        ("99999", 120.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW, cap_s=120.0) == expected


def test_429_without_headers_has_no_retry_after() -> None:
    error = error_from_status(429, now=NOW, creates=False, body='{"code":"10429"}', carrier="ups", operation="track")
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after is None


def test_429_with_retry_after() -> None:
    error = error_from_status(
        429, now=NOW, creates=True, headers={"retry-after": "2"}, carrier="ups", operation="track"
    )
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "creates", "expected"),
    [
        (400, False, CarrierRejected),
        (422, True, CarrierRejected),
        (401, False, CarrierAuthError),
        (403, True, CarrierAuthError),
        (404, False, CarrierNotFound),
        (408, False, CarrierTimeout),
        (408, True, CarrierAmbiguousError),
        (500, False, CarrierUnavailable),
        (503, False, CarrierUnavailable),
        (500, True, CarrierAmbiguousError),
        (502, True, CarrierAmbiguousError),
    ],
)
def test_status_classes(status: int, creates: bool, expected: type[Exception]) -> None:
    error = error_from_status(status, now=NOW, creates=creates, carrier="ups", operation="track")
    assert type(error) is expected
    assert error.carrier == "ups"
    assert error.operation == "track"


def test_carrier_code_and_field_are_kept() -> None:
    error = error_from_status(
        400,
        now=NOW,
        creates=True,
        code="120100",
        message="Missing postcode",
        field="ShipTo",
        carrier="ups",
        operation="track",
    )
    assert isinstance(error, CarrierRejected)
    assert (error.code, error.field) == ("120100", "ShipTo")
    assert "Missing postcode" in error.message


def test_html_5xx_body_is_summarised() -> None:
    page = "<html><head><style>p{}</style></head><body><h1>502 Bad&nbsp;Gateway</h1>" + "x" * 500 + "</body></html>"
    summary = summarize_body(page, "text/html")
    assert summary.startswith("502 Bad Gateway")
    assert "<" not in summary
    assert len(summary) <= 200


@pytest.mark.parametrize(
    ("exc", "creates", "expected"),
    [
        (ConnectionRefusedError("refused"), False, CarrierUnavailable),
        (aiohttp.ConnectionTimeoutError("connect"), True, CarrierUnavailable),
        (aiohttp.SocketTimeoutError("read"), False, CarrierTimeout),
        (aiohttp.SocketTimeoutError("read"), True, CarrierAmbiguousError),
        (TimeoutError(), True, CarrierAmbiguousError),
        (aiohttp.ServerDisconnectedError(), False, CarrierUnavailable),
        (aiohttp.ServerDisconnectedError(), True, CarrierAmbiguousError),
        (aiohttp.ClientPayloadError("truncated"), True, CarrierAmbiguousError),
    ],
)
def test_exception_classes(exc: BaseException, creates: bool, expected: type[Exception]) -> None:
    assert type(error_from_exception(exc, creates=creates, carrier="ups", operation="track")) is expected


def test_a_bug_is_not_a_carrier_failure() -> None:
    with pytest.raises(TypeError):
        error_from_exception(KeyError("oops"), creates=False, carrier="ups", operation="track")
