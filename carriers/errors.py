"""The one error tree of the ``carriers`` package.

::

    CarrierError                      anything a carrier call can raise
    ├── CarrierTransientError         not applied; safe to retry after a pause
    │   ├── CarrierTimeout            no answer in time to a call that changes nothing (GET, lookups)
    │   ├── CarrierUnavailable        connection refused or reset before sending, 5xx on a read
    │   ├── CarrierRateLimited        429; ``retry_after`` seconds when the carrier said so
    │   ├── CarrierCircuitOpen        our breaker is open: we did not call at all
    │   └── CarrierBusy               every concurrency slot stayed taken until the deadline: not sent
    ├── CarrierAmbiguousError         a call that changes state may have been applied (timeout after
    │                                 sending, reset mid-answer, 5xx on create): look it up by reference
    ├── CarrierAuthError              credentials refused (after one token refresh)
    ├── CarrierRejected               permanent: the carrier refused the request; code and message kept
    │   └── CarrierNotFound           the thing asked about does not exist at the carrier
    ├── CarrierNotSupported           the adapter lacks this capability
    └── CarrierPushError              an incoming tracking push we refuse
        ├── CarrierPushAuthError      bad credential or signature, or a replay outside the allowed age
        └── CarrierPushMalformed      the body is not what the carrier sends

Only ``CarrierTransientError`` is retried as is. ``CarrierAmbiguousError`` is resolved by looking the booking
up by our own reference before creating again. Nothing else is retried.
"""

from __future__ import annotations


class CarrierError(Exception):
    """Base of every carrier error. ``carrier`` and ``operation`` say where it happened."""

    def __init__(self, message: str, *, carrier: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.carrier = carrier
        self.operation = operation


class CarrierTransientError(CarrierError):
    """The request was not applied; the same request may be sent again later."""


class CarrierTimeout(CarrierTransientError):
    pass


class CarrierUnavailable(CarrierTransientError):
    def __init__(self, message: str, *, status: int | None = None, carrier: str = "", operation: str = "") -> None:
        super().__init__(message, carrier=carrier, operation=operation)
        self.status = status


class CarrierRateLimited(CarrierTransientError):
    def __init__(
        self, message: str, *, retry_after: float | None = None, carrier: str = "", operation: str = ""
    ) -> None:
        super().__init__(message, carrier=carrier, operation=operation)
        self.retry_after = retry_after


class CarrierCircuitOpen(CarrierTransientError):
    pass


class CarrierBusy(CarrierTransientError):
    """Every concurrency slot for the carrier stayed taken until the call's deadline: nothing was sent."""


class CarrierAmbiguousError(CarrierError):
    """A state-changing call may or may not have been applied by the carrier."""


class CarrierAuthError(CarrierError):
    pass


class CarrierRejected(CarrierError):
    """The carrier refused the request for good; ``code`` and ``message`` are the carrier's own."""

    def __init__(
        self, message: str, *, code: str = "", field: str | None = None, carrier: str = "", operation: str = ""
    ) -> None:
        super().__init__(message, carrier=carrier, operation=operation)
        self.code = code
        self.field = field


class CarrierNotFound(CarrierRejected):
    pass


class CarrierNotSupported(CarrierError):
    pass


class CarrierPushError(CarrierError):
    pass


class CarrierPushAuthError(CarrierPushError):
    pass


class CarrierPushMalformed(CarrierPushError):
    pass
