"""The fault plan of the simulated carrier: scripted misbehaviours consumed in order.

A call takes the first step whose ``operation`` matches (or is ``*``) and that has uses left; with no such
step the call behaves. Deterministic by construction: the same plan and the same calls give the same faults.
``error_for`` turns a step into the exception a real HTTP adapter would raise, through ``carriers.http``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from carriers.errors import CarrierError, CarrierRejected
from carriers.http import error_from_exception, error_from_status
from carriers.sim.settings import FaultStep

CREATES = frozenset({"schedule_pickup", "create_shipment"})


@dataclass
class _Slot:
    step: FaultStep
    left: int


class FaultPlan:
    """Steps with their remaining uses; ``take(operation)`` consumes one use of the first match."""

    def __init__(self, steps: Iterable[FaultStep] = ()) -> None:
        self._slots: list[_Slot] = []
        self.extend(steps)

    def extend(self, steps: Iterable[FaultStep]) -> None:
        self._slots.extend(_Slot(step, step.times) for step in steps)

    def take(self, operation: str) -> FaultStep | None:
        for slot in self._slots:
            if slot.left > 0 and slot.step.operation in ("*", operation):
                slot.left -= 1
                return slot.step
        return None

    @property
    def remaining(self) -> int:
        """Uses left across all steps."""
        return sum(slot.left for slot in self._slots)


def error_for(step: FaultStep, *, carrier: str, operation: str, now: datetime) -> CarrierError:
    creates = operation in CREATES
    if step.kind == "http_error":
        headers = {"Retry-After": step.retry_after} if step.retry_after is not None else {}
        if step.body.lstrip().startswith("<"):
            headers["Content-Type"] = "text/html"
        return error_from_status(
            step.status,
            carrier=carrier,
            operation=operation,
            creates=creates,
            now=now,
            headers=headers,
            body=step.body,
        )
    if step.kind == "reset":
        exc: Exception = aiohttp.ServerDisconnectedError()
    elif step.kind == "refused":
        exc = ConnectionRefusedError("connection refused by the simulated carrier")
        # A refused connection never carried the request, whatever the operation.
        return error_from_exception(exc, carrier=carrier, operation=operation, creates=False)
    elif step.kind == "reject":
        return CarrierRejected(step.message, code=step.code, carrier=carrier, operation=operation)
    else:
        raise ValueError(f"a {step.kind} step is not an error")
    return error_from_exception(exc, carrier=carrier, operation=operation, creates=creates)
