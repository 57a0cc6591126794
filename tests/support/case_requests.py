"""What the crash tests' case system keeps of each repair it asks for: its sends and their answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NO_ANSWER = 0  # the connection was refused or cut: the service died or was not up


@dataclass
class Request:
    """One repair a client wants created: one case id, one Idempotency-Key, however many sends."""

    number: int
    case_id: str
    key: str
    body: dict[str, Any]
    answers: list[int] = field(default_factory=list)
    repair_ids: list[str] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.repair_ids)
