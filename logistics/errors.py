"""The one error tree of the service. Only ``logistics.api`` turns these into HTTP answers.

::

    LogisticsError                   code (stable, machine-readable) + message
    ├── InvalidRequest               400/422: the request is malformed or a field is wrong (``fields`` lists them)
    ├── NotAuthenticated             401: no key, or an unknown key
    ├── Forbidden                    403: the key's role may not do this
    ├── NotFound                     404: unknown, or not visible to this caller (the same answer for both)
    ├── Conflict                     409: the request collides with the current state or a request in flight
    ├── RuleRefused                  422: the service's rules refuse it (routing refusals carry ``reasons``)
    ├── IdempotencyMismatch          422: the Idempotency-Key was used with another request
    ├── PayloadTooLarge              413
    └── StorageUnavailable           503 + Retry-After: the disk is full or read-only; nothing was changed

Carrier failures are not in the tree: bookings go through the outbox after the commit, so a carrier that
refuses or cannot be reached never fails a request; it raises a flag on the repair instead.
"""

from __future__ import annotations

from typing import Any


class LogisticsError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra


class InvalidRequest(LogisticsError):
    status = 422
    code = "request.invalid"

    def __init__(
        self,
        message: str,
        *,
        fields: list[dict[str, Any]] | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, fields=fields or [])
        if status is not None:
            self.status = status


class NotAuthenticated(LogisticsError):
    status = 401
    code = "auth.required"


class Forbidden(LogisticsError):
    status = 403
    code = "auth.forbidden"


class NotFound(LogisticsError):
    status = 404
    code = "not_found"


class Conflict(LogisticsError):
    status = 409
    code = "conflict"


class RuleRefused(LogisticsError):
    status = 422
    code = "rule.refused"


class IdempotencyMismatch(LogisticsError):
    status = 422
    code = "idempotency.key_reused"


class PayloadTooLarge(LogisticsError):
    status = 413
    code = "request.too_large"


class StorageUnavailable(LogisticsError):
    """The database cannot take writes now (disk full, read-only, I/O error); the request changed nothing."""

    status = 503
    code = "storage.unavailable"
    retry_after_s = 30
